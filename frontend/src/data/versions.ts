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

/** The import node's "Which version" choice (`upload_version`): the upload picked, or the newest of its name. */
export const VERSION_CHOICES = [
  { value: "pinned", label: "this upload (pinned)", hint: "every run reads the file picked above, so a run can be made again" },
  { value: "newest", label: "the newest upload of this name", hint: "each run reads the newest file uploaded under this name: a scheduled retrain sees new data" },
] as const;

/**
 * A node that follows the newest upload keeps the name it follows (`upload_name`), so that when the upload it names
 * is deleted the studio still finds the next newest of that name; a pinned node keeps none.
 */
export function withFollowedName(params: Record<string, unknown>, uploads: readonly Upload[] | null | undefined): Record<string, unknown> {
  if (params.upload_version !== "newest") return params.upload_name ? { ...params, upload_name: "" } : params;
  const picked = (uploads ?? []).find((u) => String(u.id) === String(params.upload ?? ""));
  return picked && picked.name !== params.upload_name ? { ...params, upload_name: picked.name } : params;
}

export interface UploadRead {
  upload: number;
  name: string;
  version: number;
  of: number;
  follows: string;
}

/** A run's files, as its details say them: "import read people.csv, version 2 of 2 (upload 9, the newest)". */
export function runReads(uploads: unknown): string[] {
  if (!uploads || typeof uploads !== "object") return [];
  return Object.entries(uploads as Record<string, UploadRead>).map(
    ([node, r]) => `${node} read ${r.name}, version ${r.version} of ${r.of} (upload ${r.upload}, ${r.follows === "newest" ? "the newest" : "pinned"})`,
  );
}
