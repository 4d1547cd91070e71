import { columnFormatters, isDateTimeType } from "../outputs/views";
import { lookAlikesText, notNumbersText, type PreviewColumn } from "./textNumbers";
import type { Upload } from "./uploads";

const DELIMITERS: Record<string, string> = { ",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "pipe (|)" };

/** What the file holds, before any run: column types, missing and distinct counts, the first rows. */
export function UploadPreview({ upload }: { upload: Upload }) {
  const p = upload.preview;
  if (!p) return <p className="muted">No preview for {upload.name}.</p>;
  // dates and times by the tables' one formatter; other cells as the file holds them
  const shown = columnFormatters(p.columns.map((c) => c.type), p.rows).map((f, j) => (isDateTimeType(p.columns[j].type) ? f : String));
  return (
    <section className="upload-preview" aria-label={`Preview of ${upload.name}`}>
      <h2>Preview: {upload.name}</h2>
      <p className="muted">
        {p.kind.toUpperCase()}
        {p.delimiter !== undefined && <> · delimiter: <strong>{DELIMITERS[p.delimiter] ?? p.delimiter}</strong></>}
        {" · "}
        {p.columns.length} columns · counts over the first {p.sampled_rows.toLocaleString()} rows
        {p.sampled_rows >= p.sample_limit ? " (the file has more)" : ""}
      </p>
      <TextNumbers columns={p.columns} />
      <LookAlikes columns={p.columns} />
      <div className="table-scroll">
        <table className="data" aria-label="Columns">
          <thead>
            <tr><th scope="col">Column</th><th scope="col">Type</th><th scope="col">Missing</th><th scope="col">Distinct</th></tr>
          </thead>
          <tbody>
            {p.columns.map((c) => (
              <tr key={c.name}>
                <th scope="row">{c.name}</th><td>{c.type}</td><td>{c.missing.toLocaleString()}</td><td>{c.distinct.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="table-scroll">
        <table className="data" aria-label="First rows">
          <thead>
            <tr>{p.columns.map((c) => <th key={c.name} scope="col">{c.name}</th>)}</tr>
          </thead>
          <tbody>
            {p.rows.map((row, i) => (
              <tr key={i}>{row.map((v, j) => <td key={j}>{v === null ? <span className="muted">missing</span> : (shown[j] ?? String)(v)}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/**
 * Columns that are numbers but for a few cells (a typo such as "3O"): the import reads them as text, so the model
 * would take them as categories. Says which cells, where, and the two ways out.
 */
function TextNumbers({ columns }: { columns: PreviewColumn[] }) {
  const flagged = columns.filter((c) => c.not_numbers);
  if (flagged.length === 0) return null;
  return (
    <ul className="preview-warnings" aria-label="Columns read as text">
      {flagged.map((c) => {
        return (
          <li key={c.name}>
            <strong>{c.name}</strong> {notNumbersText(c.not_numbers!)}
          </li>
        );
      })}
    </ul>
  );
}

/** Category columns where a rare value looks like a common one ("premuim" beside "premium"): likely typos. */
function LookAlikes({ columns }: { columns: PreviewColumn[] }) {
  const flagged = columns.filter((c) => c.look_alikes);
  if (flagged.length === 0) return null;
  return (
    <ul className="preview-warnings" aria-label="Values that look like typos">
      {flagged.map((c) => (
        <li key={c.name}>
          <strong>{c.name}</strong>{lookAlikesText(c.look_alikes!)}
        </li>
      ))}
    </ul>
  );
}
