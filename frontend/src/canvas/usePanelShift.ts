import { useReactFlow, type Viewport } from "@xyflow/react";
import { useEffect, useRef, type RefObject } from "react";
import { panelOpenShift } from "./fit";

const MOVE_MS = 200;
const same = (a: Viewport, b: Viewport) => Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5 && Math.abs(a.zoom - b.zoom) < 1e-6;

/**
 * The view follows the parameter panel: when it opens and narrows the canvas (`canvas`, measured after the panel is
 * laid out), the view moves left just enough that the graph shows whole left of it (panelOpenShift; a graph fitted
 * with the panel closed then sits centred left of it); when it closes, an unmoved view goes back, centred again.
 */
export function usePanelShift(panelOpen: boolean, canvas: RefObject<HTMLElement | null>) {
  const flow = useReactFlow();
  const was = useRef(panelOpen);
  const moved = useRef<{ by: number; to: Viewport } | null>(null);
  useEffect(() => {
    if (was.current === panelOpen) return;
    was.current = panelOpen;
    const view = flow.getViewport();
    const last = moved.current;
    moved.current = null;
    if (!panelOpen) {
      if (last && same(view, last.to)) void flow.setViewport({ ...view, x: view.x + last.by }, { duration: MOVE_MS });
      return;
    }
    const nodes = flow.getNodes();
    const width = canvas.current?.clientWidth ?? 0;
    if (nodes.length === 0 || width === 0) return;
    const bounds = flow.getNodesBounds(nodes);
    const by = panelOpenShift(view.x + bounds.x * view.zoom, view.x + (bounds.x + bounds.width) * view.zoom, width);
    if (by <= 0) return;
    const to = { ...view, x: view.x - by };
    moved.current = { by, to };
    void flow.setViewport(to, { duration: MOVE_MS });
  }, [flow, panelOpen, canvas]);
}
