import type { WidgetProps } from "@rjsf/utils";
import { VERSION_CHOICES } from "./versions";

/**
 * The import node's "Which version" (`upload_version`): read the upload picked in every run (pinned, the default:
 * a run can be made again from its graph), or the newest upload of its name when each run starts (a scheduled
 * retrain then reads the file uploaded again). The run records which one it read.
 */
export function UploadVersionWidget({ id, value, onChange, disabled, readonly }: WidgetProps) {
  const current = value === "newest" ? "newest" : "pinned";
  return (
    <div role="radiogroup" aria-label="Which version" id={id} className="upload-version">
      {VERSION_CHOICES.map((c) => (
        <label key={c.value} className="radio" title={c.hint}>
          <input
            type="radio"
            name={id}
            value={c.value}
            checked={current === c.value}
            disabled={disabled || readonly}
            onChange={() => onChange(c.value)}
          />{" "}
          {c.label}
          <span className="muted"> — {c.hint}</span>
        </label>
      ))}
    </div>
  );
}
