import { useMemo, useRef, useState } from "react";
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

/** The palette item an arrow key moves to from the focused one (Home / End: the first / last), or null. */
function itemAt(list: HTMLElement | null, key: string): HTMLElement | null {
  const items = Array.from(list?.querySelectorAll<HTMLElement>(".palette-item") ?? []);
  const at = items.indexOf(document.activeElement as HTMLElement);
  const step: Record<string, number> = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
  return key in step ? items[Math.max(0, Math.min(items.length - 1, step[key]))] ?? null : null;
}

/**
 * Operators grouped by category, filtered by a search box; drag one onto the canvas, or press Enter or Space on it.
 * The list is one stop of the Tab key (the arrow keys, Home and End move in it; Down from the search box enters
 * it): with a stop per operator, a keyboard user pressed Tab some 50 times to reach the canvas.
 */
export function Palette({ operators, onAdd }: { operators: OperatorSpec[]; onAdd: (op: OperatorSpec) => void }) {
  const [query, setQuery] = useState("");
  const [current, setCurrent] = useState("");
  const groups = useMemo(() => paletteGroups(operators, query), [operators, query]);
  const list = useRef<HTMLDivElement>(null);
  const visible = groups.flatMap(([, ops]) => ops.map((op) => op.name));
  const stop = visible.includes(current) ? current : visible[0];
  const move = (e: React.KeyboardEvent) => {
    const next = itemAt(list.current, e.key);
    if (!next) return;
    e.preventDefault();
    next.focus();
  };

  return (
    <aside className="palette" aria-label="Operators">
      <input
        type="search"
        className="palette-search"
        placeholder="Search operators"
        aria-label="Search operators"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key !== "ArrowDown") return;
          e.preventDefault();
          list.current?.querySelector<HTMLElement>(".palette-item")?.focus();
        }}
      />
      <div className="palette-groups" ref={list}>
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
                  tabIndex={op.name === stop ? 0 : -1}
                  data-testid={`palette-${op.name}`}
                  title={`${op.description}\nDrag onto the canvas, or press Enter to add.`}
                  onFocus={() => setCurrent(op.name)}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(DRAG_MIME, op.name);
                    e.dataTransfer.effectAllowed = "move";
                  }}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" || e.key === " ") {
                      e.preventDefault(); // Space would scroll the palette
                      onAdd(op);
                    } else move(e);
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
