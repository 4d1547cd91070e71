import { useRef, useState } from "react";

/** A read-only curl command with a Copy button (which falls back to selecting the text on plain http). */
export function CurlExample({ curl, label = "curl example" }: { curl: string; label?: string }) {
  const box = useRef<HTMLTextAreaElement>(null);
  const [copied, setCopied] = useState("");
  if (!curl) return <p className="muted">No version to call yet.</p>;
  const copy = () => {
    // The clipboard API needs a secure context; on plain http fall back to selecting the text and execCommand.
    const bySelection = () => {
      box.current?.select();
      setCopied(document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C to copy.");
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(curl).then(() => setCopied("Copied."), bySelection);
    else bySelection();
  };
  return (
    <div>
      <textarea ref={box} readOnly value={curl} rows={3} style={{ width: "100%", fontFamily: "monospace" }} aria-label={label} />
      <div className="row">
        <button type="button" onClick={copy}>Copy</button>
        {copied && <span className="muted" role="status">{copied}</span>}
      </div>
    </div>
  );
}
