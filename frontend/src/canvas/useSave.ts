import { useCallback, useEffect, useMemo, useState } from "react";
import { canonicalJson, toPipelineJson } from "../graph/serialize";
import type { GraphDoc, GraphError } from "../graph/types";
import type { useNotice } from "./useNotice";

/**
 * Saving: the last saved document (so the editor knows it has unsaved changes, and warns before the page is
 * left with them), the server's validation errors of the last save, and save itself.
 */
export function useSave(
  initial: GraphDoc,
  doc: GraphDoc,
  errors: GraphError[],
  onSave: (doc: GraphDoc) => Promise<GraphError[] | void>,
  say: ReturnType<typeof useNotice>["say"],
) {
  const [savedCanon, setSavedCanon] = useState(() => canonicalJson(toPipelineJson(initial)));
  const [saving, setSaving] = useState(false);
  const [serverErrors, setServerErrors] = useState<GraphError[]>(errors);
  useEffect(() => setServerErrors(errors), [errors]);
  const canon = useMemo(() => canonicalJson(toPipelineJson(doc)), [doc]);
  const dirty = canon !== savedCanon;

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const save = useCallback(async () => {
    setSaving(true);
    try {
      const errs = await onSave(doc);
      setSavedCanon(canonicalJson(toPipelineJson(doc)));
      if (errs) setServerErrors(errs);
      say(errs && errs.length ? "error" : "info", errs && errs.length ? `Saved, with ${errs.length} validation error(s) shown on the nodes.` : "Saved a new version.");
    } catch (err) {
      say("error", `Not saved: ${(err as Error).message}`);
    } finally {
      setSaving(false);
    }
  }, [doc, onSave, say]);

  return { dirty, saving, serverErrors, save };
}
