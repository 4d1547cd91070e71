import { useState } from "react";
import { del, patch } from "../api/client";
import { deleteQuestion, formatSize, type Upload } from "./uploads";
import type { UploadVersion } from "./versions";

interface Props {
  upload: Upload;
  selected: boolean;
  /** its place among the project's files of the same name (a corrected file uploaded again) */
  version?: UploadVersion;
  onPreview: () => void;
  onChanged: () => void;
  onError: (message: string) => void;
}

/** One upload in the Data page's list: preview, rename in place, delete. */
export function UploadRow({ upload, selected, version, onPreview, onChanged, onError }: Props) {
  const [renaming, setRenaming] = useState<string | null>(null);
  return (
    <tr aria-selected={selected} className={selected ? "selected" : undefined}>
      <td>
        {renaming !== null ? (
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              patch(`/api/uploads/${upload.id}/`, { name: renaming })
                .then(() => { setRenaming(null); onChanged(); })
                .catch((err: Error) => onError(err.message));
            }}
          >
            <input aria-label={`New name for ${upload.name}`} value={renaming} autoFocus onChange={(e) => setRenaming(e.target.value)} />
            <button type="submit">OK</button>
            <button type="button" onClick={() => setRenaming(null)}>Cancel</button>
          </form>
        ) : (
          upload.name
        )}
        {renaming === null && version && version.of > 1 && (
          <span className="muted"> · version {version.version} of {version.of}{version.version === version.of ? " (newest)" : ""}</span>
        )}
      </td>
      <td>{upload.content_type.toUpperCase()}</td>
      <td>{formatSize(upload.size)}</td>
      <td>{upload.preview ? upload.preview.columns.length : "—"}</td>
      <td>{new Date(upload.created_at).toLocaleString()}</td>
      <td className="actions">
        <button type="button" onClick={onPreview} aria-label={`Preview ${upload.name}`}>Preview</button>
        <button type="button" onClick={() => setRenaming(upload.name)} aria-label={`Rename ${upload.name}`}>Rename</button>
        <button
          type="button"
          className="danger"
          aria-label={`Delete ${upload.name}`}
          onClick={() => {
            if (!window.confirm(deleteQuestion(upload))) return;
            // Forced only past readers the person was shown; one that came since answers 409 naming it, and the
            // list is read again so that the next question names it too.
            const force = upload.used_by?.length ? "?force=true" : "";
            del(`/api/uploads/${upload.id}/${force}`).then(onChanged).catch((err: Error) => { onError(err.message); onChanged(); });
          }}
        >
          Delete
        </button>
      </td>
    </tr>
  );
}
