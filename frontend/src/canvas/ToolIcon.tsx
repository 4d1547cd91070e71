// Small line icons for the editor's toolbar: the buttons keep their names (aria-label) and say them in a tooltip,
// so the toolbar fits one row at 1440 px while screen readers and tests find "Undo", "Fit view", ... as before.
const PATHS = {
  undo: "M4 7h8a4 4 0 0 1 0 8H8M4 7l3-3M4 7l3 3",
  redo: "M16 7H8a4 4 0 0 0 0 8h4M16 7l-3-3M16 7l-3 3",
  layout: "M3 4h5v4H3zM12 4h5v4h-5zM7.5 12h5v4h-5zM5.5 8v2h9V8M10 10v2",
  fit: "M3 7V3h4M13 3h4v4M17 13v4h-4M7 17H3v-4",
  note: "M4 3h12v9l-5 5H4zM11 17v-5h5M7 7h6M7 10h4",
} as const;

export type IconName = keyof typeof PATHS;

export function ToolIcon({ name }: { name: IconName }) {
  return (
    <svg className="tool-icon" viewBox="0 0 20 20" width="16" height="16" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
