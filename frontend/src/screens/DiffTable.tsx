interface Change {
  old: unknown;
  new: unknown;
}
export interface NodeChange {
  id: string;
  changes: Record<string, unknown>;
  moved: boolean;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** One row per changed field: parameters as "params.<name>", the node's other fields (operator, label) by name. */
export function changeRows(changes: Record<string, unknown>): [string, Change][] {
  const rows: [string, Change][] = [];
  for (const [key, value] of Object.entries(changes)) {
    if (key === "params") for (const [name, c] of Object.entries(value as Record<string, Change>)) rows.push([name, c]);
    else rows.push([key, value as Change]);
  }
  return rows;
}

/** A version diff's changed nodes, field by field: what it was, what it is. */
export function DiffTable({ changed }: { changed: NodeChange[] }) {
  const rows = changed.flatMap((c) => changeRows(c.changes).map(([field, v]) => ({ node: c.id, field, v })));
  if (rows.length === 0) return null;
  return (
    <table className="data diff-table" aria-label="Changed parameters">
      <thead>
        <tr><th scope="col">Node</th><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.node}:${r.field}`} className="diff-changed">
            <td>{r.node}</td>
            <td>{r.field}</td>
            <td>{show(r.v.old)}</td>
            <td>{show(r.v.new)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
