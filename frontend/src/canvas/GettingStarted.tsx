import type { OperatorSpec } from "../graph/types";

/** An empty canvas says how to start, in three steps, instead of a blank grid. */
export function GettingStarted({ onOpenHelp }: { onOpenHelp: () => void }) {
  return (
    <section className="empty-hint getting-started" aria-label="Getting started">
      <h2>Start a pipeline in three steps</h2>
      <ol>
        <li>Drop a CSV file here, or drag an import operator (import_csv) from the palette on the left.</li>
        <li>Connect an output port (bottom of a node) to an input port of the same type (top of the next node).</li>
        <li>Press Run all; click a node to see its outputs below.</li>
      </ol>
      <button type="button" className="link" onClick={onOpenHelp}>Operator documentation and shortcuts</button>
    </section>
  );
}

/** Each operator's documentation, from its declaration (the same text the API's catalogue serves). */
export function OperatorDocs({ operators }: { operators: OperatorSpec[] }) {
  const byCategory = new Map<string, OperatorSpec[]>();
  for (const op of operators) byCategory.set(op.category ?? "Other", [...(byCategory.get(op.category ?? "Other") ?? []), op]);
  return (
    <div className="operator-docs">
      <h2>Operators</h2>
      {[...byCategory.entries()].map(([category, ops]) => (
        <section key={category} aria-label={category}>
          <h3>{category}</h3>
          {ops.map((op) => (
            <details key={op.name}>
              <summary>{op.name}: {op.description}</summary>
              <p className="docs-text">{op.docs || op.description}</p>
            </details>
          ))}
        </section>
      ))}
    </div>
  );
}
