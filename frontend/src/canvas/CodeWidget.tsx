import type { WidgetProps } from "@rjsf/utils";
import { useRef } from "react";

/**
 * A code field for parameters declared with `"widget": "code"` (python_script's code, sql_transform's SQL):
 * monospaced, with line numbers (so an error's "line 5" can be found), tab inserting spaces.
 */
export function CodeWidget({ id, value, onChange, onBlur, onFocus, disabled, readonly, schema }: WidgetProps) {
  const gutter = useRef<HTMLPreElement>(null);
  const text = typeof value === "string" ? value : "";
  const lines = Math.max(text.split("\n").length, 1);
  return (
    <div className="code-field">
      <pre ref={gutter} className="code-gutter" aria-hidden="true">
        {Array.from({ length: lines }, (_, i) => i + 1).join("\n")}
      </pre>
      <textarea
        id={id}
        value={text}
        spellCheck={false}
        rows={Math.min(Math.max(lines + 1, 8), 30)}
        disabled={disabled || readonly}
        aria-label={String(schema.title ?? id)}
        onChange={(e) => onChange(e.target.value)}
        onBlur={(e) => onBlur(id, e.target.value)}
        onFocus={(e) => onFocus(id, e.target.value)}
        onScroll={(e) => {
          if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
        }}
        onKeyDown={(e) => {
          if (e.key !== "Tab") return;
          e.preventDefault();
          const box = e.currentTarget;
          const at = box.selectionStart;
          onChange(text.slice(0, at) + "    " + text.slice(box.selectionEnd));
          requestAnimationFrame(() => box.setSelectionRange(at + 4, at + 4));
        }}
      />
    </div>
  );
}
