// A fitted feature state (feature_extraction's feature_state output) as a person reads it: what each column
// became, for which model, and which columns were left out and why; the raw state behind a toggle.
import { useState } from "react";

export interface FeatureBlock {
  column: string;
  kind: string;
  transform: string;
  model: string;
  made: number;
  names: string[];
}

export interface FeatureStateBody {
  kind: "model";
  model_kind: "features";
  state: Record<string, unknown>;
  features_summary: {
    features: number;
    columns: number;
    label: string | null;
    label_classes: [unknown, unknown] | null;
    blocks: FeatureBlock[];
    left_out: { column: string; why: string }[];
  };
}

const MODEL: Record<string, string> = { lr: "Logistic regression", gbdt: "GBDT", both: "Both" };
const KIND: Record<string, string> = { numeric: "number", categorical: "category", cross: "cross" };

/** "age:q4_0, age:q4_1, age:q4_2 … (6 in all)": the first names a block made, and how many. */
export function madeText(block: FeatureBlock): string {
  const more = block.made > block.names.length ? ` … (${block.made} in all)` : "";
  return block.names.join(", ") + more;
}

export function FeatureStateSummary({ body }: { body: FeatureStateBody }) {
  const [raw, setRaw] = useState(false);
  const s = body.features_summary;
  return (
    <div className="model-summary">
      <dl>
        <dt>Features</dt><dd>{s.features} from {s.columns} column{s.columns === 1 ? "" : "s"}</dd>
        <dt>Label</dt>
        <dd>{s.label ? `${s.label}${s.label_classes ? ` (positive: ${String(s.label_classes[1])}, negative: ${String(s.label_classes[0])})` : ""}` : "none"}</dd>
      </dl>
      <table className="data" aria-label="Features made">
        <thead>
          <tr>
            <th scope="col">Column</th><th scope="col">Kind</th><th scope="col">Transform</th><th scope="col">For model</th><th scope="col">Features</th>
          </tr>
        </thead>
        <tbody>
          {s.blocks.map((b, i) => (
            <tr key={i}>
              <th scope="row">{b.column}</th>
              <td>{KIND[b.kind] ?? b.kind}</td>
              <td>{b.transform}</td>
              <td>{MODEL[b.model] ?? b.model}</td>
              <td>{madeText(b)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {s.left_out.length > 0 ? (
        <table className="data" aria-label="Columns left out">
          <thead><tr><th scope="col">Left out</th><th scope="col">Why</th></tr></thead>
          <tbody>
            {s.left_out.map((c) => <tr key={c.column}><th scope="row">{c.column}</th><td>{c.why}</td></tr>)}
          </tbody>
        </table>
      ) : (
        <p className="muted">No column left out by auto mode.</p>
      )}
      <button type="button" aria-expanded={raw} onClick={() => setRaw(!raw)}>{raw ? "Hide raw JSON" : "Show raw JSON"}</button>
      {raw && <pre className="json">{JSON.stringify(body, null, 2)}</pre>}
    </div>
  );
}

export interface FeaturesBody {
  kind: "features";
  rows: number;
  width: number;
  names: string[];
  label_name: string | null;
}

/** A feature matrix (feature_extraction's and apply_features' features output): its size, label and column names. */
export function FeaturesView({ body }: { body: FeaturesBody }) {
  const shown = body.names.length < body.width ? ` (the first ${body.names.length})` : "";
  return (
    <div className="model-summary">
      <dl>
        <dt>Rows</dt><dd>{body.rows}</dd>
        <dt>Features</dt><dd>{body.width}</dd>
        <dt>Label</dt><dd>{body.label_name ?? "none"}</dd>
      </dl>
      <details>
        <summary>Feature names{shown}</summary>
        <p>{body.names.join(", ")}</p>
      </details>
    </div>
  );
}
