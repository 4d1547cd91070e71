import { useCallback, useMemo, useState, type ReactNode } from "react";
import { post } from "../api/client";
import type { Pipeline } from "../api/types";
import type { NodeRunState } from "../canvas/nodeData";
import { toPipelineJson } from "../graph/serialize";
import type { GraphDoc, OperatorSpec } from "../graph/types";
import { componentSpec, foldRunStates, fromCanvas, isComponentNode } from "./model";
import { SelectionBar } from "./SelectionBar";
import { useComponents } from "./useComponents";

/** What a pipeline page needs for components: the catalogue with one entry per component, run states folded
 * onto component nodes, the selection bar ("Make component", version), and a reload counter for the editor's key
 * (making a component replaces the pipeline's graph). */
export function usePipelineComponents(
  pipeline: Pipeline | null, operators: OperatorSpec[] | null, onPipeline: (p: Pipeline) => void,
  runStates: ReadonlyMap<string, NodeRunState>,
) {
  const { components, refresh } = useComponents(pipeline?.project);
  const [reload, setReload] = useState(0);
  const catalogue = useMemo(
    () => (operators ? [...operators, ...(components ?? []).map(componentSpec)] : null),
    [operators, components],
  );
  const make = useCallback(
    async (name: string, nodeIds: string[], doc: GraphDoc) => {
      if (!pipeline) return;
      const made = await post<{ pipeline: Pipeline }>("/api/components/make/", {
        pipeline: pipeline.id, name, nodes: nodeIds, graph: toPipelineJson(fromCanvas(doc)),
      });
      refresh();
      onPipeline(made.pipeline);
      setReload((r) => r + 1);
    },
    [pipeline, refresh, onPipeline],
  );
  const selectionBar = useCallback(
    (nodeIds: string[], doc: GraphDoc, change: (fn: (d: GraphDoc) => GraphDoc) => void): ReactNode => (
      <SelectionBar nodeIds={nodeIds} doc={doc} components={components ?? []} change={change} onMake={make} runStates={runStates} />
    ),
    [components, make, runStates],
  );
  const fold = useCallback(
    (states: ReadonlyMap<string, NodeRunState>, doc: GraphDoc | null) =>
      foldRunStates(states, new Set((doc?.nodes ?? []).filter(isComponentNode).map((n) => n.id))),
    [],
  );
  return { catalogue, selectionBar, fold, reload };
}
