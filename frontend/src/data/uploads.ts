// Uploads of a project: sending a file with progress (XMLHttpRequest: fetch reports no upload progress), listing
// them, and what a dropped file becomes on the canvas.
import { ApiFailure, get, type ApiErrorEntry } from "../api/client";
import { items } from "../api/lists";
import type { Page } from "../api/types";
import type { components } from "../api/schema";

export type Upload = components["schemas"]["Upload"];
export type UploadPreview = components["schemas"]["UploadPreview"];

/** Files the studio reads; anything else is refused before a byte is sent. */
export const ACCEPTED = ".csv,.tsv,.txt,.json,.jsonl,.parquet";

export function isTableFile(name: string): boolean {
  return ACCEPTED.split(",").some((ext) => name.toLowerCase().endsWith(ext));
}

function cookie(name: string): string {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

function failure(status: number, text: string): ApiFailure {
  let body: { code?: string; message?: string; detail?: string; errors?: ApiErrorEntry[] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    // a proxy's HTML page: the status says it
  }
  const message = body.message ?? body.detail ?? (status === 413 ? "the file is larger than the studio accepts" : `upload answered ${status}`);
  return new ApiFailure(status, body.code ?? String(status), message, body.errors ?? []);
}

/** What an upload answered: the stored upload, and whether it was already there (the same bytes as the newest
 * upload of that name: the studio stores nothing new and answers 200 instead of 201). */
export interface Stored {
  upload: Upload;
  unchanged: boolean;
}

/** POST the file to /api/uploads/ as multipart; `onProgress` gets the share sent (0..1). */
export function uploadFile(projectId: number | string, file: File, onProgress: (share: number) => void): Promise<Stored> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("project", String(projectId));
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads/");
    xhr.setRequestHeader("X-CSRFToken", cookie("csrftoken"));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () =>
      xhr.status === 201 || xhr.status === 200
        ? resolve({ upload: JSON.parse(xhr.responseText) as Upload, unchanged: xhr.status === 200 })
        : reject(failure(xhr.status, xhr.responseText));
    xhr.onerror = () => reject(new ApiFailure(0, "network", `the upload of ${file.name} was interrupted`));
    xhr.send(form);
  });
}

/** The Data page's question before deleting a file: the pipelines and schedules that read it, by name (the
 * API's `used_by`), or that none does. */
export function deleteQuestion(upload: Upload): string {
  const readers = upload.used_by ?? [];
  if (!readers.length) return `Delete the file “${upload.name}”? No pipeline or schedule reads it.`;
  const names = readers.map((r) => `${r.name} (${r.kind})`).join(", ");
  return `Delete the file “${upload.name}”? Used by: ${names}. Their runs will fail at the import until another file is picked.`;
}

export async function listUploads(projectId: number | string): Promise<Upload[]> {
  return items(await get<Page<Upload>>(`/api/uploads/?project=${projectId}&limit=500`));
}

/** The import operator and its parameters for an upload (the sniffed delimiter goes into a CSV import); null for
 * a kind no import operator reads. */
export function importFor(upload: Upload): { operator: string; params: Record<string, unknown> } | null {
  if (upload.content_type === "parquet") return { operator: "import_parquet", params: { upload: String(upload.id), path: "" } };
  if (upload.content_type === "json") return null;
  const delimiter = upload.preview?.delimiter ?? (upload.content_type === "tsv" ? "\t" : ",");
  return { operator: "import_csv", params: { upload: String(upload.id), path: "", delimiter } };
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
