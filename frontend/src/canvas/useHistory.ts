import { useCallback, useReducer } from "react";
import { closeGroup, createHistory, record, redo, undo, type History } from "../graph/history";
import type { GraphDoc } from "../graph/types";

type Action =
  | { type: "record"; change: (doc: GraphDoc) => GraphDoc; group?: string }
  | { type: "close" }
  | { type: "undo" }
  | { type: "redo" };

function reducer(h: History, action: Action): History {
  switch (action.type) {
    case "record":
      return record(h, action.change(h.present), action.group);
    case "close":
      return closeGroup(h);
    case "undo":
      return undo(h);
    case "redo":
      return redo(h);
  }
}

/** The editor's document with undo history; React glue only, the rules live in graph/history.ts. */
export function useHistory(initial: GraphDoc) {
  const [history, dispatch] = useReducer(reducer, initial, createHistory);
  const change = useCallback(
    (fn: (doc: GraphDoc) => GraphDoc, group?: string) => dispatch({ type: "record", change: fn, group }),
    [],
  );
  const endGroup = useCallback(() => dispatch({ type: "close" }), []);
  const doUndo = useCallback(() => dispatch({ type: "undo" }), []);
  const doRedo = useCallback(() => dispatch({ type: "redo" }), []);
  return { history, doc: history.present, change, endGroup, undo: doUndo, redo: doRedo };
}
