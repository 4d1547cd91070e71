import { useMemo, useState } from "react";
import type { OperatorSpec } from "../graph/types";
import { portColor } from "./ports";

export const DRAG_MIME = "application/x-studio-operator";

/** How well an operator answers a search: 0 its very name, 1 a name starting with it, 2 a name holding it, 3 its
 * description or category; null no match. */
function matchRank(op: OperatorSpec, q: string): number | null {
  const name = op.name.toLowerCase();
  if (name === q) return 0;
  if (name.startsWith(q)) return 1;
  if (name.includes(q)) return 2;
  return op.description.toLowerCase().includes(q) || op.category.toLowerCase().includes(q) ? 3 : null;
}

/**
 * The palette's groups: by category in alphabetical order; while searching, the best matches first (the group
 * holding the operator of that very name on top, and first in its group), so "predict" does not put
 * import_prediction_log above predict, where a newcomer drags the first hit.
 */
export function paletteGroups(operators: OperatorSpec[], query: string): [string, OperatorSpec[]][] {
  const q = query.trim().toLowerCase();
  const ranked = operators.map((op, i) => ({ op, i, rank: q ? matchRank(op, q) : 0 })).filter((r) => r.rank !== null);
  ranked.sort((a, b) => a.rank! - b.rank! || a.i - b.i);
  const byCategory = new Map<string, { best: number; ops: OperatorSpec[] }>();
  for (const { op, rank } of ranked) {
    const group = byCategory.get(op.category) ?? { best: rank!, ops: [] };
    group.ops.push(op);
    byCategory.set(op.category, group);
  }
  return [...byCategory.entries()]
    .sort(([a, ga], [b, gb]) => ga.best - gb.best || a.localeCompare(b))
    .map(([category, g]) => [category, g.ops]);
}

/** Operators grouped by category, filtered by a search box; drag one onto the canvas, or press Enter on it. */
export function Palette({ operators, onAdd }: { operators: OperatorSpec[]; onAdd: (op: OperatorSpec) => void }) {
  const [query, setQuery] = useState("");
  const groups = useMemo(() => paletteGroups(operators, query), [operators, query]);

  return (
    <aside className="palette" aria-label="Operators">
      <input
        type="search"
        className="palette-search"
        placeholder="Search operators"
        aria-label="Search operators"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      <div className="palette-groups">
        {groups.length === 0 && <p className="muted">No operator matches “{query}”.</p>}
        {groups.map(([category, ops]) => (
          <section key={category} className="palette-group">
            <h3>{category}</h3>
            <ul>
              {ops.map((op) => (
                <li
                  key={op.name}
                  className="palette-item"
                  draggable
                  tabIndex={0}
                  data-testid={`palette-${op.name}`}
                  title={`${op.description}\nDrag onto the canvas, or press Enter to add.`}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(DRAG_MIME, op.name);
                    e.dataTransfer.effectAllowed = "move";
                  }}
                  onKeyDown={(e) => {
                    if (e.key === "Enter") onAdd(op);
                  }}
                  onDoubleClick={() => onAdd(op)}
                >
                  <span className="palette-name">{op.name}</span>
                  <span className="palette-desc">{op.description}</span>
                  <span className="palette-ports" aria-hidden="true">
                    {op.inputs.map((p) => (
                      <i key={`i${p.name}`} style={{ background: portColor(p.type) }} />
                    ))}
                    <b>→</b>
                    {op.outputs.map((p) => (
                      <i key={`o${p.name}`} style={{ background: portColor(p.type) }} />
                    ))}
                  </span>
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
    </aside>
  );
}
