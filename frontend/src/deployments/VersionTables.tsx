import { useState } from "react";
import type { components } from "../api/schema";

type Deployment = components["schemas"]["Deployment"];
type Version = Deployment["versions"][number];

/** The live version's action: Unpublish, asked twice. */
function UnpublishButton({ busy, act }: { busy: boolean; act: (path: string) => void }) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming) return <button type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>Unpublish</button>;
  return (
    <>
      <button type="button" className="danger" disabled={busy} onClick={() => { setConfirming(false); act("unpublish"); }}>Confirm unpublish</button>{" "}
      <button type="button" disabled={busy} onClick={() => setConfirming(false)}>Cancel</button>
    </>
  );
}

function VersionRow({ v, live, busy, act }: { v: Version; live: number | null; busy: boolean; act: (path: string, body?: unknown) => void }) {
  return (
    <tr data-testid={`version-row-${v.number}`}>
      <td>v{v.number}</td>
      <td>{v.live ? <strong>● live</strong> : ""}</td>
      <td>{new Date(v.created_at).toLocaleString()}</td>
      <td>{v.created_by}</td>
      <td>{v.source_run ?? "—"}</td>
      <td>{v.source_node || "—"}</td>
      <td>
        {v.live ? (
          <UnpublishButton busy={busy} act={act} />
        ) : (
          <button type="button" disabled={busy} onClick={() => act("rollback", { version: v.number })}>
            {live === null || v.number < live ? "Roll back to" : "Make live"} v{v.number}
          </button>
        )}
      </td>
    </tr>
  );
}

/** A deployment's versions, newest first, each with roll back / make live, and unpublish on the live one. */
export function VersionsTable({ deployment, busy, act }: { deployment: Deployment; busy: boolean; act: (path: string, body?: unknown) => void }) {
  const versions = [...deployment.versions].sort((a, b) => b.number - a.number);
  if (versions.length === 0) return <p className="muted">No version yet.</p>;
  return (
    <table className="data list" aria-label="Versions">
      <thead>
        <tr>
          <th scope="col">Version</th><th scope="col">Live</th><th scope="col">Created</th><th scope="col">By</th>
          <th scope="col">Source run</th><th scope="col">Node</th><th scope="col">Action</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => <VersionRow key={v.number} v={v} live={deployment.live_version ?? null} busy={busy} act={act} />)}
      </tbody>
    </table>
  );
}

/** What was done to a deployment, newest first. */
export function HistoryTable({ history }: { history: Deployment["history"] }) {
  if (history.length === 0) return <p className="muted">Nothing yet.</p>;
  return (
    <table className="data list" aria-label="History">
      <thead>
        <tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Version</th><th scope="col">User</th></tr>
      </thead>
      <tbody>
        {[...history].sort((a, b) => b.at.localeCompare(a.at)).map((h, i) => (
          <tr key={i}>
            <td>{new Date(h.at).toLocaleString()}</td>
            <td>{h.action}{h.detail ? ` (${h.detail})` : ""}</td>
            <td>{h.version === null ? "—" : `v${h.version}`}</td>
            <td>{h.user}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
