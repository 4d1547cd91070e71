import type { NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { NoteFlowNode } from "./nodeData";

/** A sticky note: free text on the canvas, saved in the pipeline's "comments". */
function NoteNodeView({ data, selected }: NodeProps<NoteFlowNode>) {
  return (
    <div className={`note-node${selected ? " selected" : ""}`} data-testid={`note-${data.noteId}`}>
      <textarea
        className="nodrag nowheel"
        aria-label="Sticky note"
        placeholder="Write a note…"
        value={data.text}
        onChange={(e) => data.onText(data.noteId, e.target.value)}
        onBlur={data.onDone}
      />
    </div>
  );
}

export const NoteNode = memo(NoteNodeView);
