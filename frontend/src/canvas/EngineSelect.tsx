export type Engine = "local" | "spark";

/** A run's or a pipeline's engine as the picker's value (anything but Spark is Local). */
export function asEngine(engine: string | undefined): Engine {
  return engine === "spark" ? "spark" : "local";
}

/** Why the picker is read-only for `role` (the user's role in the pipeline's project), or "" when they may change it:
 * the choice is kept with the pipeline, and only editors and owners may change a pipeline. */
export function engineReadOnlyReason(role: string | null | undefined): string {
  return role === "viewer" ? "you are a viewer of this project; its editors and owners choose the engine" : "";
}

/** Which engine the toolbar's run buttons run on (in the page's header: the toolbar fills a 1440 px row): the same
 * pipeline, the same operators, on pandas or on Spark. With `readOnly` (a reason) it shows the choice, disabled,
 * and says why. */
export function EngineSelect({ value, onChange, readOnly = "" }: { value: Engine; onChange: (engine: Engine) => void; readOnly?: string }) {
  return (
    <>
      <label className="engine-select" title={readOnly || "Where the run buttons run the pipeline: this machine's pandas, or Apache Spark (STUDIO_SPARK_MASTER)"}>
        <span>Engine</span>
        <select value={value} disabled={Boolean(readOnly)} aria-describedby={readOnly ? "engine-read-only" : undefined} onChange={(e) => onChange(e.target.value as Engine)}>
          <option value="local">Local</option>
          <option value="spark">Spark</option>
        </select>
      </label>
      {readOnly && <span id="engine-read-only" className="muted" title={readOnly}>View only: {readOnly}</span>}
    </>
  );
}
