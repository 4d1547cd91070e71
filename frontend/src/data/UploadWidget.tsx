import type { WidgetProps } from "@rjsf/utils";
import { useProjectData } from "./projectContext";
import { formatSize } from "./uploads";

/** The import node's `upload` parameter: a file of the project, picked by name (the stored value is its id). */
export function UploadWidget({ id, value, onChange, onBlur, disabled, readonly }: WidgetProps) {
  const data = useProjectData();
  const uploads = data?.uploads ?? [];
  const current = typeof value === "string" ? value : "";
  const known = !current || uploads.some((u) => String(u.id) === current);
  return (
    <select
      id={id}
      className="form-control"
      value={current}
      disabled={disabled || readonly}
      onChange={(e) => onChange(e.target.value)}
      onBlur={() => onBlur(id, current)}
    >
      <option value="">{uploads.length ? "— none: read `path` —" : "— no uploaded files: see the project's Data page —"}</option>
      {uploads.map((u) => (
        <option key={u.id} value={String(u.id)}>
          {u.name} ({u.content_type.toUpperCase()}, {formatSize(u.size)})
        </option>
      ))}
      {!known && <option value={current}>upload #{current} (deleted or not visible)</option>}
    </select>
  );
}
