import { useCallback, useEffect, useMemo, useState } from "react";
import { get } from "../api/client";
import type { GraphDoc } from "../graph/types";
import type { NodeRunState } from "../canvas/nodeData";
import type { ProjectData } from "./projectContext";
import { listConnections, type Connection } from "./connections";
import { listUploads, type Upload } from "./uploads";
import { upstreamColumns } from "./upstreamColumns";

/** The project's uploads: the import node's file picker, and columns known before any run (upstreamColumns). */
export function useProjectUploads(projectId: number | undefined): { uploads: Upload[] | null; projectData: ProjectData | null } {
  const [uploads, setUploads] = useState<Upload[] | null>(null);
  const refresh = useCallback(() => {
    if (projectId !== undefined) listUploads(projectId).then(setUploads).catch(() => setUploads([]));
  }, [projectId]);
  useEffect(refresh, [refresh]);
  const connections = useProjectConnections(projectId);
  const projectData = useMemo<ProjectData | null>(
    () => (projectId === undefined ? null : { projectId, uploads, connections, refresh }),
    [projectId, uploads, connections, refresh],
  );
  return { uploads, projectData };
}

/** The project's database connections, loaded again whenever the window regains focus (one added on the Data page,
 * in another tab, is then offered by the SQL import's picker). */
function useProjectConnections(projectId: number | undefined): Connection[] | null {
  const [connections, setConnections] = useState<Connection[] | null>(null);
  useEffect(() => {
    if (projectId === undefined) return;
    const load = () => void listConnections(projectId).then(setConnections).catch(() => setConnections([]));
    load();
    window.addEventListener("focus", load);
    return () => window.removeEventListener("focus", load);
  }, [projectId]);
  return connections;
}

interface ColumnInputs {
  selected: string | null;
  graph: GraphDoc | null;
  runId: number | null;
  runNodes: ReadonlyMap<string, NodeRunState>;
  uploads: Upload[] | null;
}

/**
 * The column pickers' columns of a node's table input: when the selected node's input comes from a node that
 * has finished in this run, one row of that output is read to learn its columns; else they are worked out from
 * the uploads the graph imports.
 */
export function useNodeColumns({ selected, graph, runId, runNodes, uploads }: ColumnInputs) {
  const [columns, setColumns] = useState<Record<string, string[]>>({});
  useEffect(() => {
    if (!selected || !graph || runId === null) return;
    const edge = graph.edges.find((e) => e.target === selected && e.target_port === "table");
    if (!edge) return;
    const key = `${runId}:${edge.source}:${edge.source_port}`;
    const upstream = runNodes.get(edge.source);
    if (columns[key] || !upstream || (upstream.status !== "succeeded" && upstream.status !== "cached")) return;
    get<{ columns?: { name: string }[] }>(`/api/runs/${runId}/outputs/${encodeURIComponent(edge.source)}/${encodeURIComponent(edge.source_port)}/?limit=1`)
      .then((b) => setColumns((c) => ({ ...c, [key]: (b.columns ?? []).map((x) => x.name) })))
      .catch(() => undefined); // no columns known: the form stays free text
  }, [selected, graph, runId, runNodes, columns]);

  return useCallback(
    (node: string, current?: GraphDoc) => {
      const edge = graph?.edges.find((e) => e.target === node && e.target_port === "table");
      const fromRun = edge ? columns[`${runId}:${edge.source}:${edge.source_port}`] : undefined;
      const shown = current ?? graph; // the editor's document, unsaved edits included
      return fromRun ?? (shown && uploads ? upstreamColumns(shown, node, uploads) : undefined);
    },
    [graph, columns, runId, uploads],
  );
}
