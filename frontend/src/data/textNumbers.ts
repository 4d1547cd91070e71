// Number columns read as text because of a few cells (a typo such as "3O"): the model would take them as
// categories. Said on the Data page's preview and again on the import node that reads the file, until handled.
// So are category values that look like a typo of a common one ("premuim" beside "premium").
import type { Upload } from "./uploads";

export type PreviewColumn = NonNullable<Upload["preview"]>["columns"][number];
type NotNumbers = NonNullable<PreviewColumn["not_numbers"]>;
type LookAlikes = NonNullable<PreviewColumn["look_alikes"]>;

const rows = (n: number) => (n === 1 ? "1 row" : `${n.toLocaleString()} rows`);

/** "“premuim” (1 row, line 19) looks like “premium” (498 rows). Correct …" (after the column's name). */
export function lookAlikesText({ count, examples }: LookAlikes): string {
  const pairs = examples.map((e) => `“${e.value}” (${rows(e.rows)}, line ${e.line}) looks like “${e.like}” (${rows(e.like_rows)})`);
  return `: ${pairs.join("; ")}${count > examples.reduce((n, e) => n + e.rows, 0) ? "; …" : ""}. A typo is a category of its own ` +
    "to the model: correct the file and upload it again, or map the value with a recode_values node after the import.";
}

/** "is read as text: 1 cell is not a number: “3O” (line 19). Correct the file …" (after the column's name). */
export function notNumbersText({ count, examples }: NotNumbers): string {
  const cells = examples.map((e) => `“${e.value}” (line ${e.line})`).join(", ");
  return `is read as text: ${count === 1 ? "1 cell is" : `${count.toLocaleString()} cells are`} not a number: ${cells}` +
    `${count > examples.length ? ", …" : ""}. Correct the file and upload it again, or add the value to the import ` +
    "node's Null Values to read it as missing.";
}

/**
 * The import node's warnings from its upload's preview: each number column read as text, unless the node already
 * handles it (a type set for the column, or every flagged cell among its Null Values).
 */
export function importTextNumbers(params: Record<string, unknown>, uploads: readonly Upload[] | null | undefined): string[] {
  const upload = chosenUpload(params, uploads);
  const types = (params.column_types ?? {}) as Record<string, unknown>;
  const nulls = Array.isArray(params.null_values) ? params.null_values.map(String) : [];
  return (upload?.preview?.columns ?? [])
    .filter((c) => c.not_numbers && !(c.name in types))
    .filter((c) => c.not_numbers!.count > c.not_numbers!.examples.length || !c.not_numbers!.examples.every((e) => nulls.includes(String(e.value))))
    .map((c) => `${c.name} ${notNumbersText(c.not_numbers!)}`);
}

/**
 * The import node's warnings from its upload's preview about category values that look like a typo of a common one,
 * as the Data page said them on upload: "plan: “premuim” (1 row, line 20) looks like “premium” (519 rows). …".
 */
export function importLookAlikes(params: Record<string, unknown>, uploads: readonly Upload[] | null | undefined): string[] {
  return (chosenUpload(params, uploads)?.preview?.columns ?? [])
    .filter((c) => c.look_alikes)
    .map((c) => `${c.name}${lookAlikesText(c.look_alikes!)}`);
}

function chosenUpload(params: Record<string, unknown>, uploads: readonly Upload[] | null | undefined): Upload | undefined {
  return uploads?.find((u) => String(u.id) === String(params.upload ?? ""));
}
