import { useCallback, useEffect, useRef, useState } from "react";
import { get } from "../api/client";
import type { Project } from "../api/types";
import { navigate } from "../router";
import { ConnectionsSection } from "./ConnectionsSection";
import { SendingList } from "./SendingList";
import { UploadPreview } from "./UploadPreview";
import { UploadRow } from "./UploadRow";
import { ACCEPTED, listUploads, type Upload, type UploadPreview as Preview } from "./uploads";
import { useUploads } from "./useUploads";
import { uploadVersions } from "./versions";

/** A project's data files: upload by the file picker or by dropping files on the page (with progress), see a
 * file's preview, rename, delete. Pipelines' import nodes pick these files by name. Below, the project's database
 * connections, which SQL import nodes pick by name. */
export function DataPage({ projectId }: { projectId: string }) {
  const [project, setProject] = useState<Project | null>(null);
  const [uploads, setUploads] = useState<Upload[] | null>(null);
  const [shown, setShown] = useState<number | null>(null);
  const [error, setError] = useState("");
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const { sending, send, dismiss } = useUploads(projectId);

  const load = useCallback(() => listUploads(projectId).then(setUploads).catch((e: Error) => setError(e.message)), [projectId]);
  useEffect(() => {
    get<Project>(`/api/projects/${projectId}/`).then(setProject).catch((e: Error) => setError(e.message));
    void load();
  }, [projectId, load]);

  const sendAll = async (files: FileList | File[]) => {
    setError("");
    await Promise.all(
      [...files].map(async (f) => {
        const stored = await send(f);
        if (stored) {
          setShown(stored.id);
          await load();
        }
      }),
    );
  };

  // Files uploaded before previews existed get theirs made on first look.
  const showPreview = (u: Upload) => {
    setShown(u.id);
    if (u.preview) return;
    get<Preview>(`/api/uploads/${u.id}/preview/`)
      .then((preview) => setUploads((list) => list?.map((x) => (x.id === u.id ? { ...x, preview } : x)) ?? null))
      .catch((e: Error) => setError(e.message));
  };

  const current = uploads?.find((u) => u.id === shown);
  const versions = uploadVersions(uploads ?? []);
  return (
    <div
      className={`page data-page${dragging ? " dropping" : ""}`}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes("Files")) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => e.currentTarget === e.target && setDragging(false)}
      onDrop={(e) => {
        if (!e.dataTransfer.files.length) return;
        e.preventDefault();
        setDragging(false);
        void sendAll(e.dataTransfer.files);
      }}
    >
      <h1>{project?.name ?? "Project"}: data</h1>
      <div className="row">
        <button type="button" className="primary" onClick={() => picker.current?.click()}>Upload files…</button>
        <input
          ref={picker}
          type="file"
          multiple
          accept={ACCEPTED}
          className="visually-hidden"
          aria-label="Choose files to upload"
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = "";
            void sendAll(files);
          }}
        />
        <span className="muted drop-hint">or drop CSV, TSV, JSON or Parquet files anywhere on this page</span>
        <button type="button" className="link" onClick={() => navigate(`/projects/${projectId}`)}>Pipelines</button>
      </div>
      <SendingList sending={sending} onDismiss={dismiss} />
      {error && <p className="error-text" role="alert">{error}</p>}
      {uploads === null ? (
        <p className="muted">Loading…</p>
      ) : uploads.length === 0 ? (
        <p className="muted">No data yet: upload a file, then drop it onto a pipeline's canvas or pick it in an import node.</p>
      ) : (
        <table className="data list" aria-label="Uploaded files">
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Size</th><th scope="col">Columns</th><th scope="col">Uploaded</th><th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {uploads.map((u) => (
              <UploadRow key={u.id} upload={u} selected={u.id === shown} version={versions.get(u.id)} onPreview={() => showPreview(u)} onChanged={() => void load()} onError={setError} />
            ))}
          </tbody>
        </table>
      )}
      {current && <UploadPreview upload={current} />}
      <ConnectionsSection projectId={projectId} />
    </div>
  );
}
