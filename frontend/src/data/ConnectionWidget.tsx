import type { WidgetProps } from "@rjsf/utils";
import { useProjectData } from "./projectContext";

/** The SQL import's `connection` parameter: one of the project's connections, picked by name; a name no longer
 * defined stays shown (and the run names it) rather than being silently dropped. */
export function ConnectionWidget({ id, value, onChange, onBlur, disabled, readonly }: WidgetProps) {
  const data = useProjectData();
  const connections = data?.connections ?? [];
  const current = typeof value === "string" ? value : "";
  const known = !current || connections.some((c) => c.name === current);
  return (
    <>
      <select
        id={id}
        className="form-control"
        value={current}
        disabled={disabled || readonly}
        onChange={(e) => onChange(e.target.value || undefined)}
        onBlur={() => onBlur(id, current)}
      >
        <option value="">{connections.length ? "— pick a connection —" : "— no connections: add one on the project's Data page —"}</option>
        {connections.map((c) => (
          <option key={c.id} value={c.name} title={c.display_url}>{c.name} ({c.kind})</option>
        ))}
        {!known && <option value={current}>{current} (not a connection of this project)</option>}
      </select>
      {data && (
        <a className="field-link" href={`/projects/${data.projectId}/data`} target="_blank" rel="noreferrer">
          Add or manage connections (Data page)
        </a>
      )}
    </>
  );
}
