import { useCallback, useEffect, useState } from "react";

export interface Notice {
  kind: "error" | "info";
  text: string;
}

/** The one line the editor says to the user; confirmations fade after a few seconds, errors stay until dismissed or replaced. */
export function useNotice() {
  const [notice, setNotice] = useState<Notice | null>(null);
  const say = useCallback((kind: Notice["kind"], text: string) => setNotice({ kind, text }), []);
  const dismiss = useCallback(() => setNotice(null), []);
  useEffect(() => {
    if (notice?.kind !== "info") return;
    const timer = window.setTimeout(() => setNotice((n) => (n === notice ? null : n)), 4000);
    return () => window.clearTimeout(timer);
  }, [notice]);
  return { notice, say, dismiss };
}
