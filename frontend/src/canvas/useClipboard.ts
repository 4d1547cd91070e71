import { useCallback } from "react";
import { copySelection, parseClipboard, pasteClipboard } from "../graph/clipboard";
import type { GraphDoc } from "../graph/types";
import { NOTE_PREFIX } from "./nodeData";
import type { useHistory } from "./useHistory";
import type { useNotice } from "./useNotice";
import type { SelectedParts } from "./useSelection";

// localStorage, not the system clipboard: it needs no permission and carries a selection into another pipeline.
const CLIPBOARD_KEY = "studio.clipboard";

/** Copy the selection and paste it (selected), offset when pasted into the pipeline it came from. */
export function useClipboard(
  doc: GraphDoc,
  parts: SelectedParts,
  change: ReturnType<typeof useHistory>["change"],
  selectOnly: (nodeIds: Iterable<string>) => void,
  say: ReturnType<typeof useNotice>["say"],
) {
  const copy = useCallback(() => {
    const { nodes, comments } = parts;
    if (!nodes.length && !comments.length) return false;
    localStorage.setItem(CLIPBOARD_KEY, JSON.stringify(copySelection(doc, nodes, comments)));
    say("info", `Copied ${nodes.length} node${nodes.length === 1 ? "" : "s"}${comments.length ? ` and ${comments.length} note(s)` : ""}.`);
    return true;
  }, [parts, doc, say]);

  const paste = useCallback(() => {
    const clip = parseClipboard(localStorage.getItem(CLIPBOARD_KEY));
    if (!clip) return;
    const ids = new Set(doc.nodes.map((n) => n.id));
    const samePipeline = clip.nodes.some((n) => ids.has(n.id));
    const r = pasteClipboard(doc, clip, samePipeline ? { x: 40, y: 40 } : { x: 0, y: 0 });
    change(() => r.doc);
    selectOnly([...r.nodeIds, ...r.commentIds.map((c) => NOTE_PREFIX + c)]);
  }, [doc, change, selectOnly]);

  return { copy, paste };
}
