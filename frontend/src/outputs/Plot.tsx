import { useEffect, useRef, useState } from "react";
import { plotLayout } from "./plotLayout";

export interface Figure {
  data: unknown[];
  layout?: Record<string, unknown>;
}

/** A plotly.js chart from the API's figure JSON. plotly.js is loaded on first use, so the canvas starts fast. */
export function Plot({ figure, name, title }: { figure: Figure; name: string; title?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    let alive = true;
    const target = el.current;
    void import("plotly.js-basic-dist-min")
      .then(({ default: Plotly }) => {
        if (!alive || !target) return;
        // Axis labels get the room they need (long feature names on an importance chart were clipped).
        return Plotly.react(target, figure.data, plotLayout(figure), { displaylogo: false, responsive: true });
      })
      .catch((e: Error) => setError(e.message));
    return () => {
      alive = false;
      if (target) void import("plotly.js-basic-dist-min").then(({ default: Plotly }) => Plotly.purge(target));
    };
  }, [figure]);
  return (
    <figure className="plot" data-testid={`plot-${name}`} aria-label={`${title ?? name} chart`}>
      <div ref={el} />
      {error && <figcaption className="error-text">Chart failed: {error}</figcaption>}
    </figure>
  );
}
