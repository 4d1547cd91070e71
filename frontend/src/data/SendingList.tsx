import type { Sending } from "./useUploads";

/** Files on their way: a progress bar each, the reason one was refused, or that the studio already had it. */
export function SendingList({ sending, onDismiss }: { sending: Sending[]; onDismiss: (key: string) => void }) {
  if (!sending.length) return null;
  return (
    <ul className="sending" aria-label="Uploads in progress">
      {sending.map((s) => (
        <li key={s.key}>
          <span className="sending-name">{s.name}</span>
          {s.error || s.note ? (
            <>
              {s.error ? (
                <span className="error-text" role="alert">Not uploaded: {s.error}</span>
              ) : (
                <span className="muted" role="status">Already uploaded: {s.note}</span>
              )}
              <button type="button" className="link" onClick={() => onDismiss(s.key)}>Dismiss</button>
            </>
          ) : (
            <>
              <progress max={1} value={s.share} aria-label={`Uploading ${s.name}`} />
              <span className="muted">{s.share < 1 ? `${Math.round(s.share * 100)}%` : "reading its first rows…"}</span>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
