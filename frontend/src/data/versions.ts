// Uploading a corrected file under the same name is how people make a new version of a dataset: the new file is a
// new upload, and pipelines keep reading the one their import node names until told otherwise (so an old run stays
// reproducible). Same-named uploads are versions 1, 2, … in upload order, and an import node of an older one offers
// the newest.
import type { Upload } from "./uploads";

export interface UploadVersion {
  version: number;
  of: number;
}

/** Each upload's place among the project's uploads of the same name (by id: the upload order). */
export function uploadVersions(uploads: readonly Upload[]): Map<number, UploadVersion> {
  const byName = new Map<string, Upload[]>();
  for (const u of [...uploads].sort((a, b) => a.id - b.id)) byName.set(u.name, [...(byName.get(u.name) ?? []), u]);
  const out = new Map<number, UploadVersion>();
  for (const list of byName.values()) list.forEach((u, i) => out.set(u.id, { version: i + 1, of: list.length }));
  return out;
}

/** The newest upload of the same name as upload `id`, when it is a later one; else null. */
export function newerUpload(uploads: readonly Upload[] | null | undefined, id: unknown): Upload | null {
  const current = (uploads ?? []).find((u) => String(u.id) === String(id ?? ""));
  if (!current) return null;
  const latest = (uploads ?? []).filter((u) => u.name === current.name).reduce((a, b) => (b.id > a.id ? b : a), current);
  return latest.id === current.id ? null : latest;
}

export const uploadedAt = (u: Upload) => new Date(u.created_at).toLocaleString();

/** A picker's text for an upload: its name, "version 2 of 2, uploaded …" when the name has several, kind and size. */
export function uploadChoice(u: Upload, versions: Map<number, UploadVersion>, size: string): string {
  const v = versions.get(u.id);
  const which = v && v.of > 1 ? `version ${v.version} of ${v.of}, uploaded ${uploadedAt(u)}, ` : "";
  return `${u.name} (${which}${u.content_type.toUpperCase()}, ${size})`;
}
