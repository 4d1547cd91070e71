import type { OperatorSpec } from "../graph/types";
import { OutputsPanel } from "./OutputsPanel";
import { useResizable } from "./useResizable";

interface Props {
  pipelineId: number;
  runId: number | null;
  status: string;
  /** the engine the run ran on; Spark is said beside the status */
  engine?: string;
  running: boolean;
  log: readonly string[];
  tab: "outputs" | "log";
  onTab: (tab: "outputs" | "log") => void;
  selected: string | null;
  spec: OperatorSpec | undefined;
  ready: boolean;
  runError: string;
  onCancel: () => void;
}

/** The run's results under the canvas: outputs of the selected node and the log; resizable and maximizable. */
export function RunPanel(props: Props) {
  const { runId, tab, onTab, selected } = props;
  const { height, maximized, toggleMaximized, handle } = useResizable();
  return (
    <section className={`bottom-panel${maximized ? " maximized" : ""}`} aria-label="Run results" data-testid="bottom-panel" style={{ height }}>
      {!maximized && <div className="resize-handle" {...handle} />}
      <div className="bottom-head">
        <div role="tablist" aria-label="Run panel">
          <button type="button" role="tab" aria-selected={tab === "outputs"} className={tab === "outputs" ? "active" : ""} onClick={() => onTab("outputs")}>Outputs</button>
          <button type="button" role="tab" aria-selected={tab === "log"} className={tab === "log" ? "active" : ""} onClick={() => onTab("log")}>Log</button>
        </div>
        <span className="run-status" data-testid="run-status" data-status={runId === null ? "none" : props.status}>
          {runId === null ? "No run yet" : `Run #${runId}: ${props.status}${props.engine === "spark" ? " (Spark engine)" : ""}`}
        </span>
        {runId !== null && props.running && <button type="button" onClick={props.onCancel}>Cancel run</button>}
        {props.runError && <span className="error-text" role="alert">{props.runError}</span>}
        <span className="grow" />
        <button type="button" aria-pressed={maximized} onClick={toggleMaximized} title={maximized ? "Back to the canvas" : "Use the whole window for the results"}>
          {maximized ? "Restore size" : "Maximize results"}
        </button>
      </div>
      <div className="bottom-body">
        {tab === "log" && <pre className="log" data-testid="log" aria-label="Run log" tabIndex={0}>{props.log.join("\n") || "No events yet."}</pre>}
        {tab === "outputs" &&
          (selected ? (
            <OutputsPanel pipelineId={props.pipelineId} runId={runId} node={selected} spec={props.spec} ready={props.ready} />
          ) : (
            <p className="muted">Select a node to see its outputs.</p>
          ))}
      </div>
    </section>
  );
}
