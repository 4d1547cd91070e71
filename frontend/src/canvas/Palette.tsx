import { useMemo, useState } from "react";
import type { OperatorSpec } from "../graph/types";
import { portColor } from "./ports";

export const DRAG_MIME = "application/x-studio-operator";

/** Operators grouped by category, filtered by a search box; drag one onto the canvas, or press Enter on it. */
export function Palette({ operators, onAdd }: { operators: OperatorSpec[]; onAdd: (op: OperatorSpec) => void }) {
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const found = operators.filter(
      (op) => !q || op.name.toLowerCase().includes(q) || op.description.toLowerCase().includes(q) || op.category.toLowerCase().includes(q),
    );
    const byCategory = new Map<string, OperatorSpec[]>();
    for (const op of found) byCategory.set(op.category, [...(byCategory.get(op.category) ?? []), op]);
    return [...byCategory.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [operators, query]);

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
