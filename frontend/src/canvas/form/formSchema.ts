// The parameter form's schema, derived from the operator's JSON Schema: bound parameters left out, column
// pickers (a schema's `examples` become the input's suggestions) on every field that names columns, and a
// default for a mapping's new entry so an added row starts valid.
import type { RJSFSchema } from "@rjsf/utils";

/** Parameters that name columns of the input table: their strings (and a mapping's keys) get a column picker. */
export const COLUMN_FIELD = /(^|_)(label|column|columns|exclude|crosses|keys?)$/;

type Schema = RJSFSchema & { examples?: unknown[] };

/** Column suggestions on the innermost strings of a field (a string, a list of strings, a list of lists). */
function withColumnExamples(prop: Schema, columns: string[]): Schema {
  if (prop.type === "string" && !prop.enum) return { ...prop, examples: columns };
  const item = prop.items as Schema | undefined;
  if (prop.type === "array" && item && !Array.isArray(item)) return { ...prop, items: withColumnExamples(item, columns) };
  return prop;
}

/** A mapping whose values are a choice: a new row starts at the first choice (not an invalid "New Value"). */
function withEntryDefault(prop: Schema): Schema {
  const extra = prop.additionalProperties as Schema | boolean | undefined;
  if (prop.type !== "object" || typeof extra !== "object" || extra.default !== undefined) return prop;
  if (Array.isArray(extra.enum) && extra.enum.length) return { ...prop, additionalProperties: { ...extra, default: extra.enum[0] } };
  if (extra.type === "array") return { ...prop, additionalProperties: { ...extra, default: [] } };
  return prop;
}

export function formSchema(base: RJSFSchema, bound: Record<string, unknown>, columns: string[] | undefined): RJSFSchema {
  const props: Record<string, Schema> = {};
  for (const [name, raw] of Object.entries((base.properties ?? {}) as Record<string, Schema>)) {
    if (name in bound) continue;
    let prop = withEntryDefault(raw);
    if (columns?.length && COLUMN_FIELD.test(name)) prop = withColumnExamples(prop, columns);
    props[name] = prop;
  }
  const required = (base.required ?? []).filter((r) => !(r in bound));
  const { title: _title, ...rest } = base;
  return { ...rest, properties: props, required } as RJSFSchema;
}

/** "root_column_types__add" -> "Column Types"; "root_exclude_0__remove" -> "Exclude 1" (what a button acts on). */
export function fieldNameOf(id: string | undefined): string {
  const path = (id ?? "").replace(/^root_?/, "").replace(/__(add|remove|moveUp|moveDown|copy|clear)$/, "");
  const words = path.split("_").filter(Boolean).map((w) => (/^\d+$/.test(w) ? String(Number(w) + 1) : w));
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join(" ") || "entry";
}

/**
 * The label a node will look for, when the input's known columns (from the upload's preview or the last run) do
 * not hold it: say so before the run fails on it (feature_extraction's label stays "label" while the data calls it
 * "bought"). An empty label says nothing: evaluate_binary then reads the label the model was trained on. Only `label`: the true label always comes from the data, whereas other column fields may name
 * columns an operator on the way adds (predict's probability), which the preview does not know.
 */
export function missingLabel(schema: RJSFSchema | undefined, params: Record<string, unknown>, columns: string[] | undefined): string | null {
  const declared = (schema?.properties as Record<string, Schema> | undefined)?.label;
  if (!declared || !columns?.length) return null;
  const value = "label" in params ? params.label : declared.default;
  if (typeof value !== "string" || value === "" || columns.includes(value)) return null;
  const shown = columns.slice(0, 12).join(", ") + (columns.length > 12 ? ", …" : "");
  return `Label: the input has no column “${value}”; its columns are ${shown}.`;
}
