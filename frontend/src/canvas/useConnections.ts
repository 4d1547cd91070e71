import type { Connection, FinalConnectionState, IsValidConnection } from "@xyflow/react";
import { useCallback } from "react";
import { checkConnection } from "../graph/connection";
import { connect } from "../graph/ops";
import type { GraphDoc, GraphEdge, OperatorSpec } from "../graph/types";
import type { useHistory } from "./useHistory";
import type { useNotice } from "./useNotice";

const toEdge = (c: Connection): GraphEdge => ({
  source: c.source, source_port: c.sourceHandle ?? "", target: c.target, target_port: c.targetHandle ?? "",
});

/** Drawing an edge: React Flow asks whether a connection is valid, makes it, or reports one it refused. */
export function useConnections(
  doc: GraphDoc,
  catalogue: ReadonlyMap<string, OperatorSpec>,
  change: ReturnType<typeof useHistory>["change"],
  { say, dismiss }: Pick<ReturnType<typeof useNotice>, "say" | "dismiss">,
) {
  const isValidConnection: IsValidConnection = useCallback(
    (c) => checkConnection(doc, catalogue, toEdge(c as Connection)).ok,
    [doc, catalogue],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const result = connect(doc, catalogue, toEdge(c));
      if (result.ok) {
        change(() => result.doc);
        dismiss();
      } else say("error", result.reason);
    },
    [doc, catalogue, change, say, dismiss],
  );

  // A refused connection: say why, in words, where the user looks.
  const onConnectEnd = useCallback(
    (_event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (!state.fromHandle || !state.toHandle || state.isValid) return;
      const from = state.fromHandle;
      const to = state.toHandle;
      const edge: GraphEdge =
        from.type === "source"
          ? { source: from.nodeId, source_port: from.id ?? "", target: to.nodeId, target_port: to.id ?? "" }
          : { source: to.nodeId, source_port: to.id ?? "", target: from.nodeId, target_port: from.id ?? "" };
      const check = checkConnection(doc, catalogue, edge);
      if (!check.ok) say("error", `Connection refused: ${check.reason}`);
    },
    [doc, catalogue, say],
  );

  return { isValidConnection, onConnect, onConnectEnd };
}
