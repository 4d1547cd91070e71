import { useCallback, useEffect, useState } from "react";

const KEY = "studio.resultsPanel";
const MIN = 140;

interface Stored {
  height: number;
  maximized: boolean;
}

function read(): Stored {
  try {
    const s = JSON.parse(window.localStorage.getItem(KEY) ?? "null") as Partial<Stored> | null;
    return { height: typeof s?.height === "number" ? s.height : Math.round(window.innerHeight * 0.34), maximized: s?.maximized === true };
  } catch {
    return { height: Math.round(window.innerHeight * 0.34), maximized: false };
  }
}

/**
 * The results panel's height, dragged on its handle (or with the arrow keys on it), and a maximized state;
 * both remembered in this browser.
 */
export function useResizable() {
  const [state, setState] = useState<Stored>(read);
  useEffect(() => {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(state));
    } catch {
      // not remembered: the size still applies to this page
    }
  }, [state]);
  const max = Math.max(MIN, window.innerHeight - 120);
  const setHeight = useCallback((h: number) => setState((s) => ({ ...s, height: Math.min(Math.max(MIN, Math.round(h)), Math.max(MIN, window.innerHeight - 120)) })), []);

  const onPointerDown = useCallback(
    (e: React.PointerEvent) => {
      e.preventDefault();
      const startY = e.clientY;
      const start = state.height;
      const move = (m: PointerEvent) => setHeight(start + (startY - m.clientY));
      const up = () => {
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", up);
      };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
    },
    [state.height, setHeight],
  );
  const onKeyDown = useCallback(
    (e: React.KeyboardEvent) => {
      if (e.key === "ArrowUp") setHeight(state.height + 20);
      else if (e.key === "ArrowDown") setHeight(state.height - 20);
      else return;
      e.preventDefault();
    },
    [state.height, setHeight],
  );
  const toggleMaximized = useCallback(() => setState((s) => ({ ...s, maximized: !s.maximized })), []);
  const handle = {
    role: "separator" as const,
    "aria-orientation": "horizontal" as const,
    "aria-label": "Resize the results panel",
    "aria-valuemin": MIN,
    "aria-valuemax": max,
    "aria-valuenow": Math.min(state.height, max),
    tabIndex: 0,
    onPointerDown,
    onKeyDown,
  };
  return { height: state.height, maximized: state.maximized, toggleMaximized, handle };
}
