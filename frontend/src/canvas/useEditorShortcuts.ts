import { useEffect } from "react";

/** What the editor's keys do; HelpPanel lists them for the user. */
export interface ShortcutActions {
  save: () => void;
  undo: () => void;
  redo: () => void;
  /** false when there was nothing to copy (then a cut deletes nothing) */
  copy: () => boolean;
  paste: () => void;
  deleteSelection: () => void;
  selectAll: () => void;
  toggleHelp: () => void;
  layout: () => void;
  escape: () => void;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

/** The action a key press asks for, or null; Ctrl+S saves even from a form field, the rest only on the canvas. */
export function actionOf(e: KeyboardEvent, a: ShortcutActions): ((e: KeyboardEvent) => void) | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  const withDefaultPrevented = (act: () => void) => (ev: KeyboardEvent) => { ev.preventDefault(); act(); };
  if (mod && key === "s") return withDefaultPrevented(a.save);
  if (isTyping(e.target)) return null;
  if (mod && key === "z" && !e.shiftKey) return withDefaultPrevented(a.undo);
  if (mod && ((key === "z" && e.shiftKey) || key === "y")) return withDefaultPrevented(a.redo);
  if (mod && key === "c") return () => a.copy();
  if (mod && key === "x") return () => { if (a.copy()) a.deleteSelection(); };
  if (mod && key === "v") return withDefaultPrevented(a.paste);
  if (mod && key === "a") return withDefaultPrevented(a.selectAll);
  if (!mod && (e.key === "Delete" || e.key === "Backspace")) return withDefaultPrevented(a.deleteSelection);
  if (!mod && e.key === "?") return a.toggleHelp;
  if (!mod && e.shiftKey && key === "l") return a.layout;
  if (e.key === "Escape") return a.escape;
  return null;
}

/** The editor's keyboard shortcuts on the window, for as long as the editor is mounted. */
export function useEditorShortcuts(actions: ShortcutActions) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => actionOf(e, actions)?.(e);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [actions]);
}
