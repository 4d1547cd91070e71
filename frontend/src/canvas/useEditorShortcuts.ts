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

/** Inputs that take no typing: their changes are the canvas's to undo. */
const NOT_TEXT = new Set(["checkbox", "radio", "range", "color", "file", "button", "submit", "reset", "image"]);

function takesText(el: HTMLElement): boolean {
  return el.isContentEditable || el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && !NOT_TEXT.has((el as HTMLInputElement).type));
}

// A text field's value when it took the focus, and whether the person has typed into it since: Ctrl+Z there is the
// browser's own undo of that typing until the field is back to that value; then, as in a select or a checkbox, the
// canvas's (a parameter changed and committed, the person moved on to the next field and wants it back).
const atFocus = new WeakMap<EventTarget, string>();
const typed = new WeakSet<EventTarget>();

/** Remember `target`'s value as its starting point: on focus, and after the canvas's undo changed it. */
export function noteFocus(target: EventTarget | null): void {
  if (!target) return;
  atFocus.set(target, (target as HTMLInputElement).value ?? "");
  typed.delete(target);
}

export function noteTyping(target: EventTarget | null): void {
  if (target) typed.add(target);
}

/** Whether Ctrl+Z / Ctrl+Y in `target` is the browser's: typing in a text field not yet taken back. */
function browserUndoes(target: EventTarget | null): boolean {
  const el = target as HTMLInputElement | null;
  if (!el || !takesText(el)) return false;
  return el.isContentEditable || (typed.has(el) && el.value !== atFocus.get(el));
}

/** The action a key press asks for, or null; Ctrl+S saves even from a form field, undo and redo from any field but
 * a text field with typing to take back, the rest only on the canvas. */
export function actionOf(e: KeyboardEvent, a: ShortcutActions): ((e: KeyboardEvent) => void) | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  const withDefaultPrevented = (act: () => void) => (ev: KeyboardEvent) => { ev.preventDefault(); act(); };
  if (mod && key === "s") return withDefaultPrevented(a.save);
  if (mod && (key === "z" || key === "y") && !browserUndoes(e.target)) {
    return withDefaultPrevented(key === "z" && !e.shiftKey ? a.undo : a.redo);
  }
  if (isTyping(e.target)) return null;
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
    const onKey = (e: KeyboardEvent) => {
      const act = actionOf(e, actions);
      act?.(e);
      // the canvas's undo may have rewritten the focused field: its new value is where its own typing starts
      if (act && e.defaultPrevented && (e.key.toLowerCase() === "z" || e.key.toLowerCase() === "y")) {
        requestAnimationFrame(() => noteFocus(document.activeElement));
      }
    };
    const onFocus = (e: FocusEvent) => noteFocus(e.target);
    const onInput = (e: Event) => noteTyping(e.target);
    window.addEventListener("keydown", onKey);
    window.addEventListener("focusin", onFocus);
    window.addEventListener("input", onInput, true);
    return () => {
      window.removeEventListener("keydown", onKey);
      window.removeEventListener("focusin", onFocus);
      window.removeEventListener("input", onInput, true);
    };
  }, [actions]);
}
