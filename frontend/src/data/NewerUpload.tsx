import { useProjectData } from "./projectContext";
import { newerUpload, uploadedAt, uploadVersions } from "./versions";

/**
 * On an import node reading an older version of a file (a corrected file was uploaded again under its name): says
 * so, and switches the node to the newest with one click. The node keeps reading the older file until then, so last
 * week's runs stay reproducible.
 */
export function NewerUpload({ params, onParams }: { params: Record<string, unknown>; onParams: (params: Record<string, unknown>) => void }) {
  const uploads = useProjectData()?.uploads;
  const newer = newerUpload(uploads, params.upload);
  if (!uploads || !newer) return null;
  const versions = uploadVersions(uploads);
  const read = uploads.find((u) => String(u.id) === String(params.upload))!;
  if (params.upload_version === "newest") {
    return (
      <p className="muted newer-upload" role="status">
        Follows the newest {newer.name}: the next run reads version {versions.get(newer.id)!.version}, uploaded {uploadedAt(newer)}.
      </p>
    );
  }
  return (
    <div className="warn-text newer-upload" role="status">
      <p>
        A newer {newer.name} was uploaded {uploadedAt(newer)} (version {versions.get(newer.id)!.version}); this node
        reads version {versions.get(read.id)!.version}, uploaded {uploadedAt(read)}.
      </p>
      <button type="button" onClick={() => onParams({ ...params, upload: String(newer.id) })}>
        Read the newer {newer.name}
      </button>{" "}
      <button type="button" onClick={() => onParams({ ...params, upload: String(newer.id), upload_version: "newest", upload_name: newer.name })}>
        Always read the newest {newer.name}
      </button>
    </div>
  );
}
