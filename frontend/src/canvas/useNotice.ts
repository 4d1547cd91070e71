import { useCallback, useEffect, useState } from "react";

export interface Notice {
  kind: "error" | "info";
  text: string;
}

/** The notice left when an action starts that reports itself elsewhere (a run, in the results panel below): a
 * confirmation of an earlier action goes, so it does not stand over that action's progress as if it were its
 * answer; an error stays until it is dismissed or replaced. */
export function withoutConfirmation(notice: Notice | null): Notice | null {
  return notice?.kind === "info" ? null : notice;
}

/**
 * What a save says: its validation errors, which stay until dismissed; or that it saved, unless `quiet` (a save
 * made by Run all before the run: the toolbar's "All changes saved" and the header's version say it, and a
 * "Saved a new version." over the run's progress read as the answer to Run all).
 */
export function savedNotice(errors: number, quiet = false): Notice | null {
  if (errors) return { kind: "error", text: `Saved, with ${errors} validation error(s) shown on the nodes.` };
  return quiet ? null : { kind: "info", text: "Saved a new version." };
}

/** The one line the editor says to the user; confirmations fade after a few seconds, errors stay until dismissed or replaced. */
export function useNotice() {
  const [notice, setNotice] = useState<Notice | null>(null);
  const say = useCallback((kind: Notice["kind"], text: string) => setNotice({ kind, text }), []);
  const dismiss = useCallback(() => setNotice(null), []);
  const dropConfirmation = useCallback(() => setNotice(withoutConfirmation), []);
  useEffect(() => {
    if (notice?.kind !== "info") return;
    const timer = window.setTimeout(() => setNotice((n) => (n === notice ? null : n)), 4000);
    return () => window.clearTimeout(timer);
  }, [notice]);
  return { notice, say, dismiss, dropConfirmation };
}
