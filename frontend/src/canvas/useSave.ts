import { useCallback, useEffect, useMemo, useState } from "react";
import { canonicalJson, toPipelineJson } from "../graph/serialize";
import type { GraphDoc, GraphError } from "../graph/types";
import { setLeaveGuard } from "../router";
import { clearDraft, writeDraft } from "./draft";
import { savedNotice, type useNotice } from "./useNotice";

export const LEAVE_QUESTION = "This pipeline has unsaved changes. Leave without saving them?";

/** Where the editor's unsaved edits are kept while it has them (an autosaved draft of the pipeline). */
export interface DraftTarget {
  pipelineId: number;
  base: number;
}

/**
 * Saving: the last saved document (so the editor knows it has unsaved changes, asks before the page is left
 * with them, and keeps them as a draft in the browser), the server's validation errors of the last save, and
 * save itself, which answers the errors of the saved version (null when the save failed); `quiet`: no notice of
 * a save without errors.
 */
export function useSave(
  saved: GraphDoc,
  doc: GraphDoc,
  errors: GraphError[],
  onSave: (doc: GraphDoc, message: string) => Promise<GraphError[] | void>,
  say: ReturnType<typeof useNotice>["say"],
  draft?: DraftTarget,
) {
  const [savedCanon, setSavedCanon] = useState(() => canonicalJson(toPipelineJson(saved)));
  const [saving, setSaving] = useState(false);
  const [message, setMessage] = useState("");
  const [serverErrors, setServerErrors] = useState<GraphError[]>(errors);
  useEffect(() => setServerErrors(errors), [errors]);
  const canon = useMemo(() => canonicalJson(toPipelineJson(doc)), [doc]);
  const dirty = canon !== savedCanon;

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", warn);
    setLeaveGuard(() => window.confirm(LEAVE_QUESTION));
    return () => {
      window.removeEventListener("beforeunload", warn);
      setLeaveGuard(null);
    };
  }, [dirty]);

  // The draft follows the edits (a moment after the last one) and goes when they are saved.
  const pipelineId = draft?.pipelineId;
  const base = draft?.base ?? 0;
  useEffect(() => {
    if (pipelineId === undefined || !dirty) return; // (a draft offered on opening stays until it is decided)
    const timer = window.setTimeout(() => writeDraft(pipelineId, doc, base), 300);
    return () => window.clearTimeout(timer);
  }, [pipelineId, base, doc, dirty]);

  const save = useCallback(async (options: { quiet?: boolean } = {}): Promise<GraphError[] | null> => {
    setSaving(true);
    try {
      const errs = (await onSave(doc, message.trim())) ?? [];
      setSavedCanon(canonicalJson(toPipelineJson(doc)));
      if (pipelineId !== undefined) clearDraft(pipelineId);
      setServerErrors(errs);
      setMessage("");
      const said = savedNotice(errs.length, options.quiet);
      if (said) say(said.kind, said.text);
      return errs;
    } catch (err) {
      say("error", `Not saved: ${(err as Error).message}`);
      return null;
    } finally {
      setSaving(false);
    }
  }, [doc, onSave, say, message, pipelineId]);

  return { dirty, saving, serverErrors, save, message, setMessage };
}
