// Columns of a node's table input before anything ran: follow its `table` edge up through operators that keep
// the columns as they are (splits, samples) to an import node reading an upload, whose preview names them.
import type { GraphDoc } from "../graph/types";
import type { Upload } from "./uploads";

// (predict adds its score columns to the rows it was given: the given ones are still there)
const KEEPS_COLUMNS = /^(split_|sample$|sample_rows$|filter_rows$|predict$)/;
const IMPORTS = new Set(["import_csv", "import_parquet"]);

export function upstreamColumns(doc: GraphDoc, nodeId: string, uploads: readonly Upload[]): string[] | undefined {
  const seen = new Set<string>();
  let target = nodeId;
  for (;;) {
    const edge = doc.edges.find((e) => e.target === target && e.target_port === "table");
    if (!edge || seen.has(edge.source)) return undefined;
    seen.add(edge.source);
    const source = doc.nodes.find((n) => n.id === edge.source);
    if (!source) return undefined;
    if (IMPORTS.has(source.operator)) {
      const wanted = source.params.upload;
      const upload = uploads.find((u) => String(u.id) === wanted);
      return upload?.preview?.columns.map((c) => c.name);
    }
    if (!KEEPS_COLUMNS.test(source.operator)) return undefined;
    target = source.id;
  }
}
