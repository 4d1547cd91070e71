export type Engine = "local" | "spark";

/** A run's or a pipeline's engine as the picker's value (anything but Spark is Local). */
export function asEngine(engine: string | undefined): Engine {
  return engine === "spark" ? "spark" : "local";
}

/** Which engine the toolbar's run buttons run on (in the page's header: the toolbar fills a 1440 px row): the same pipeline, the same operators, on pandas or on Spark. */
export function EngineSelect({ value, onChange }: { value: Engine; onChange: (engine: Engine) => void }) {
  return (
    <label className="engine-select" title="Where the run buttons run the pipeline: this machine's pandas, or Apache Spark (STUDIO_SPARK_MASTER)">
      <span>Engine</span>
      <select value={value} onChange={(e) => onChange(e.target.value as Engine)}>
        <option value="local">Local</option>
        <option value="spark">Spark</option>
      </select>
    </label>
  );
}
