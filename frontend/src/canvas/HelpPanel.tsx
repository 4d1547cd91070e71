import type { OperatorSpec } from "../graph/types";
import { OperatorDocs } from "./GettingStarted";

const SHORTCUTS: [string, string][] = [
  ["Drag from the palette", "add an operator (or focus it and press Enter)"],
  ["Drag from an output to an input", "connect (ports of the same type only)"],
  ["Click, Shift+click, Shift+drag", "select, add to the selection, select an area"],
  ["Delete / Backspace", "delete the selection"],
  ["Ctrl+Z", "undo (also from a parameter field; in a text field, first its own typing)"],
  ["Ctrl+Shift+Z or Ctrl+Y", "redo"],
  ["Ctrl+C / Ctrl+X / Ctrl+V", "copy / cut / paste (also into another pipeline)"],
  ["Ctrl+A", "select everything"],
  ["Ctrl+S", "save a new version"],
  ["Shift+L", "auto-layout"],
  ["Escape", "clear the selection"],
  ["?", "show or hide this list"],
];

export function HelpPanel({ onClose, operators }: { onClose: () => void; operators: OperatorSpec[] }) {
  return (
    <div className="help-panel" role="dialog" aria-label="Keyboard shortcuts and operator documentation" data-testid="help">
      <div className="help-head">
        <h2>Keyboard shortcuts</h2>
        <button type="button" onClick={onClose} aria-label="Close shortcuts">×</button>
      </div>
      <table>
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <th scope="row">{keys}</th>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <OperatorDocs operators={operators} />
    </div>
  );
}
