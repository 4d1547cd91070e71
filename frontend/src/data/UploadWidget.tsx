import type { WidgetProps } from "@rjsf/utils";
import { useProjectData } from "./projectContext";
import { formatSize } from "./uploads";
import { uploadChoice, uploadVersions } from "./versions";

/** The import node's `upload` parameter: a file of the project, picked by name (the stored value is its id). */
export function UploadWidget({ id, value, onChange, onBlur, disabled, readonly }: WidgetProps) {
  const data = useProjectData();
  const uploads = data?.uploads ?? [];
  const current = typeof value === "string" ? value : "";
  const known = !current || uploads.some((u) => String(u.id) === current);
  // Two files of one name (a corrected file uploaded again) are told apart by version and upload time.
  const versions = uploadVersions(uploads);
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
          {uploadChoice(u, versions, formatSize(u.size))}
        </option>
      ))}
      {!known && <option value={current}>upload #{current} (deleted or not visible)</option>}
    </select>
  );
}
