import { describe, expect, it } from "vitest";
import { actionOf, noteFocus, noteTyping, type ShortcutActions } from "./useEditorShortcuts";
import { withSelectChanges } from "./useSelection";

/** Every action records its name when it runs; copy answers `copied`. */
function recorder(copied = true) {
  const ran: string[] = [];
  const act = (name: string) => () => void ran.push(name);
  const actions: ShortcutActions = {
    save: act("save"), undo: act("undo"), redo: act("redo"), paste: act("paste"), deleteSelection: act("delete"),
    selectAll: act("selectAll"), toggleHelp: act("help"), layout: act("layout"), escape: act("escape"),
    copy: () => { ran.push("copy"); return copied; },
  };
  return { ran, actions };
}

/** A key press as the window sees it; `prevented` tells whether the shortcut kept the browser's own action. */
function press(key: string, mods: { ctrl?: boolean; meta?: boolean; shift?: boolean; tag?: string } = {}) {
  const event = {
    key, ctrlKey: !!mods.ctrl, metaKey: !!mods.meta, shiftKey: !!mods.shift,
    target: { tagName: mods.tag ?? "DIV", isContentEditable: false },
    prevented: false,
    preventDefault() { this.prevented = true; },
  };
  return event;
}

function run(event: ReturnType<typeof press>, actions: ShortcutActions) {
  const action = actionOf(event as unknown as KeyboardEvent, actions);
  action?.(event as unknown as KeyboardEvent);
  return action !== null;
}

describe("editor shortcuts", () => {
  it.each([
    ["s", { ctrl: true }, ["save"], true],
    ["z", { ctrl: true }, ["undo"], true],
    ["Z", { ctrl: true, shift: true }, ["redo"], true],
    ["y", { meta: true }, ["redo"], true],
    ["c", { ctrl: true }, ["copy"], false],
    ["x", { ctrl: true }, ["copy", "delete"], false],
    ["v", { ctrl: true }, ["paste"], true],
    ["a", { ctrl: true }, ["selectAll"], true],
    ["Delete", {}, ["delete"], true],
    ["Backspace", {}, ["delete"], true],
    ["?", { shift: true }, ["help"], false],
    ["L", { shift: true }, ["layout"], false],
    ["Escape", {}, ["escape"], false],
  ] as const)("%s %o runs %o", (key, mods, expected, prevented) => {
    const { ran, actions } = recorder();
    const event = press(key, mods);
    expect(run(event, actions)).toBe(true);
    expect(ran).toEqual(expected);
    expect(event.prevented).toBe(prevented);
  });

  it("cut deletes nothing when there was nothing to copy", () => {
    const { ran, actions } = recorder(false);
    run(press("x", { ctrl: true }), actions);
    expect(ran).toEqual(["copy"]);
  });

  it("in a form field only Ctrl+S, undo and redo act; typing keeps its keys", () => {
    for (const tag of ["INPUT", "TEXTAREA", "SELECT"]) {
      const { ran, actions } = recorder();
      for (const [key, mods] of [["Delete", {}], ["a", { ctrl: true }], ["?", {}], ["Escape", {}]] as const) {
        const event = press(key, { ...mods, tag });
        expect(run(event, actions)).toBe(false);
        expect(event.prevented).toBe(false);
      }
      run(press("s", { ctrl: true, tag }), actions);
      run(press("z", { ctrl: true, tag }), actions);
      run(press("y", { ctrl: true, tag }), actions);
      expect(ran).toEqual(["save", "undo", "redo"]);
    }
  });

  it("Ctrl+Z in a text field takes back its typing (the browser's undo) until it is back to its value at focus", () => {
    const field = { tagName: "INPUT", type: "text", isContentEditable: false, value: "0.8" } as unknown as HTMLInputElement;
    const { ran, actions } = recorder();
    const undoIn = (target: unknown) => {
      const event = { ...press("z", { ctrl: true }), target: target as { tagName: string; isContentEditable: boolean } };
      return { handled: run(event, actions), prevented: event.prevented };
    };
    noteFocus(field);
    expect(undoIn(field)).toEqual({ handled: true, prevented: true });  // nothing typed: the canvas's last change
    field.value = "0.75";
    noteTyping(field);
    expect(undoIn(field)).toEqual({ handled: false, prevented: false });  // the browser takes back the typing
    field.value = "0.8";
    expect(undoIn(field)).toEqual({ handled: true, prevented: true });  // back where it started: the canvas again
    const checkbox = { tagName: "INPUT", type: "checkbox", isContentEditable: false, value: "on" } as unknown as HTMLInputElement;
    noteFocus(checkbox);
    noteTyping(checkbox);
    expect(undoIn(checkbox)).toEqual({ handled: true, prevented: true });  // a checkbox has no typing to undo
    expect(ran).toEqual(["undo", "undo", "undo"]);
    const code = { tagName: "DIV", isContentEditable: true };
    expect(undoIn(code)).toEqual({ handled: false, prevented: false });  // an editor of its own keeps its undo
  });

  it("plain letters and unbound keys do nothing", () => {
    const { ran, actions } = recorder();
    for (const key of ["a", "l", "s", "Enter", "F5"]) expect(run(press(key), actions)).toBe(false);
    expect(ran).toEqual([]);
  });
});

describe("selection changes", () => {
  it("applies select and deselect, and keeps the same set when nothing is selected or deselected", () => {
    const current: ReadonlySet<string> = new Set(["a", "b"]);
    const next = withSelectChanges(current, [
      { type: "select", id: "c", selected: true },
      { type: "select", id: "a", selected: false },
      { type: "remove", id: "zzz" },
    ]);
    expect([...next].sort()).toEqual(["b", "c"]);
    expect([...current].sort()).toEqual(["a", "b"]);
    expect(withSelectChanges(current, [{ type: "remove", id: "b" }])).toBe(current);
  });
});
