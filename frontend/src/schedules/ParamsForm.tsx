import type { ParamSpec } from "./logic";

interface Props {
  specs: ParamSpec[];
  texts: Record<string, string>;
  errors: Record<string, string>;
  onChange: (texts: Record<string, string>) => void;
}

/** One field per parameter the pipeline declares, generated from its type; empty means the pipeline's default. */
export function ParamsForm({ specs, texts, errors, onChange }: Props) {
  const set = (name: string, value: string) => onChange({ ...texts, [name]: value });
  return (
    <fieldset className="card">
      <legend>Run parameters</legend>
      <p className="muted">
        Each fire also sets run_date, fire_time, data_interval_start and data_interval_end; a pipeline uses them as {"{\"$param\": \"run_date\"}"}.
      </p>
      {specs.length === 0 && <p className="muted">The pipeline declares no parameters.</p>}
      {specs.map((spec) => {
        const error = errors[`params.${spec.name}`];
        const hint = `${spec.description ? `${spec.description}; ` : ""}default ${JSON.stringify(spec.default)}`;
        return (
          <label key={spec.name} className="field">
            <span>{spec.name}</span>
            {spec.kind === "boolean" ? (
              <select value={texts[spec.name] ?? ""} onChange={(e) => set(spec.name, e.target.value)}>
                <option value="">default ({String(spec.default)})</option>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input type={spec.kind === "text" ? "text" : "number"} step={spec.kind === "integer" ? 1 : "any"} value={texts[spec.name] ?? ""}
                placeholder={String(spec.default ?? "")} onChange={(e) => set(spec.name, e.target.value)} aria-invalid={error ? true : undefined} />
            )}
            <small className="muted">{hint}</small>
            {error && <small className="error-text">{error}</small>}
          </label>
        );
      })}
      {errors.params && <p className="error-text" role="alert">{errors.params}</p>}
    </fieldset>
  );
}
