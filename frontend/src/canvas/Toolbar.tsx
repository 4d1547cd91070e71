import type { ReactNode } from "react";
import { ToolIcon, type IconName } from "./ToolIcon";

export type RunMode = "all" | "from" | "only";

export interface ToolbarProps {
  dirty: boolean;
  saving: boolean;
  canUndo: boolean;
  canRedo: boolean;
  /** the one selected operator node, which "Run from selected" and "Run selected" start at */
  onlySelected: string | null;
  showHelp: boolean;
  onSave: () => void;
  onUndo: () => void;
  onRedo: () => void;
  onLayout: () => void;
  onFitView: () => void;
  onAddNote: () => void;
  /** absent: the page cannot run pipelines, and the run buttons are not shown */
  onRun?: (mode: RunMode, node: string | null, force: boolean) => void;
  onToggleHelp: () => void;
  extra?: ReactNode;
  /** the optional message of the next saved version */
  message?: string;
  onMessage?: (message: string) => void;
}

/** A button shown as an icon: its name is its accessible name and its tooltip (with the shortcut, if any). */
function IconButton({ icon, name, keys, onClick, disabled }: { icon: IconName; name: string; keys?: string; onClick: () => void; disabled?: boolean }) {
  return (
    <button type="button" className="icon-button" aria-label={name} title={keys ? `${name} (${keys})` : name} onClick={onClick} disabled={disabled}>
      <ToolIcon name={icon} />
    </button>
  );
}

/** The editor's buttons; every action is the editor's, the toolbar only shows what is possible now. */
export function Toolbar(props: ToolbarProps) {
  const { dirty, saving, onlySelected, onRun } = props;
  return (
    <div className="toolbar" role="toolbar" aria-label="Pipeline">
      <button type="button" onClick={props.onSave} disabled={saving || !dirty} data-testid="save">
        {saving ? "Saving…" : "Save"}
      </button>
      {props.onMessage && (
        <input
          type="text" className="version-message" aria-label="Version message (optional)" placeholder="Version message (optional)" maxLength={500}
          value={props.message ?? ""} onChange={(e) => props.onMessage?.(e.target.value)} onKeyDown={(e) => { if (e.key === "Enter" && dirty) props.onSave(); }}
        />
      )}
      <span className={`dirty ${dirty ? "on" : ""}`} data-testid="dirty" aria-live="polite">
        {dirty ? "● Unsaved changes" : "All changes saved"}
      </span>
      <span className="sep" />
      <div role="group" aria-label="Edit and view" className="tool-group">
        <IconButton icon="undo" name="Undo" keys="Ctrl+Z" onClick={props.onUndo} disabled={!props.canUndo} />
        <IconButton icon="redo" name="Redo" keys="Ctrl+Shift+Z" onClick={props.onRedo} disabled={!props.canRedo} />
        <IconButton icon="layout" name="Auto-layout" keys="Shift+L" onClick={props.onLayout} />
        <IconButton icon="fit" name="Fit view" onClick={props.onFitView} />
        <IconButton icon="note" name="Add note" onClick={props.onAddNote} />
      </div>
      <span className="sep" />
      {onRun && (
        <>
          <button type="button" className="primary" data-testid="run-all" onClick={() => onRun("all", null, false)}>Run all</button>
          <button type="button" disabled={!onlySelected} onClick={() => onRun("from", onlySelected, false)}>Run from selected</button>
          <button type="button" disabled={!onlySelected} onClick={() => onRun("only", onlySelected, false)}>Run selected</button>
          <button type="button" onClick={() => onRun("all", null, true)} title="Run every node again, ignoring the cache">Force rerun</button>
        </>
      )}
      {props.extra}
      <span className="grow" />
      <button type="button" onClick={props.onToggleHelp} aria-expanded={props.showHelp} title="Getting started, operator documentation and keyboard shortcuts (?)">Help</button>
    </div>
  );
}
