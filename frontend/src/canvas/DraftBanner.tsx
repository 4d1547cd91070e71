import type { Draft } from "./draft";

/** Unsaved edits kept in this browser when the page was closed without saving: restore them or let them go. */
export function DraftBanner({ draft, onRestore, onDiscard }: { draft: Draft; onRestore: () => void; onDiscard: () => void }) {
  return (
    <div className="draft-banner" role="alert">
      <span>
        Unsaved changes from {new Date(draft.at).toLocaleString()} (made on version v{draft.base}) were kept in this browser.
      </span>
      <button type="button" className="primary" onClick={onRestore}>Restore draft</button>
      <button type="button" onClick={onDiscard}>Discard draft</button>
    </div>
  );
}
