import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import type { PortSpec } from "../graph/types";
import { nodeTitles, type OperatorFlowNode } from "./nodeData";
import { portColor } from "./ports";

const STATUS_TEXT: Record<string, string> = {
  queued: "queued",
  running: "running",
  succeeded: "succeeded",
  cached: "cached",
  failed: "failed",
  skipped: "skipped",
  cancelled: "cancelled",
};

function spread(i: number, n: number): string {
  return `${((i + 1) / (n + 1)) * 100}%`;
}

/** One handle per port, spread evenly: inputs along the top edge, outputs along the bottom. */
function PortHandles({ ports, side }: { ports: PortSpec[]; side: "input" | "output" }) {
  const input = side === "input";
  return (
    <>
      {ports.map((p, i) => (
        <Handle
          key={`${input ? "in" : "out"}-${p.name}`}
          id={p.name}
          type={input ? "target" : "source"}
          position={input ? Position.Top : Position.Bottom}
          className={`port port-${p.type}`}
          style={{ left: spread(i, ports.length), background: portColor(p.type) }}
          title={`${p.name}: ${p.type}${input && p.optional ? " (optional)" : ""}`}
          data-port-type={p.type}
          aria-label={`${side} ${p.name} (${p.type})`}
        >
          <span className={`port-label port-label-${input ? "in" : "out"}`}>{p.name}</span>
        </Handle>
      ))}
    </>
  );
}

/** A node shows its operator, ports and state; it holds no logic (the graph module decides everything). */
function OperatorNodeView({ data, selected }: NodeProps<OperatorFlowNode>) {
  const { node, spec, errors, run } = data;
  const { title, operator } = nodeTitles(node, spec);
  const status = run?.status;
  const errorText = errors.map((e) => e.message).join("\n");
  return (
    <div
      className={`op-node${selected ? " selected" : ""}${errors.length ? " has-errors" : ""}${status ? ` status-${status}` : ""}`}
      data-testid={`node-${node.id}`}
      data-status={status ?? "idle"}
      title={run?.error || errorText || spec?.description || ""}
    >
      <PortHandles ports={spec?.inputs ?? []} side="input" />
      <div className="op-node-head">
        <span className="op-node-title">{title}</span>
        {status && <span className={`status-badge status-${status}`} data-testid={`status-${node.id}`}>{STATUS_TEXT[status]}</span>}
      </div>
      {operator && <div className="op-node-sub">{operator}</div>}
      {status === "running" && (
        <div className="progress" role="progressbar" aria-label={`${title} progress`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round((run?.progress ?? 0) * 100)}>
          <div className="progress-bar" style={{ width: `${Math.round((run?.progress ?? 0) * 100)}%` }} />
        </div>
      )}
      {/* At most three lines on the node (a long error would run over the nodes below); the full text is the
          tooltip, and the parameter panel lists every error. */}
      {errors.length > 0 && (
        <div className="op-node-errors clipped" data-testid={`errors-${node.id}`} title={errorText}>
          {errors.length > 1 ? `${errors.length} errors: ` : ""}{errors.map((e) => e.message).join(" · ")}
        </div>
      )}
      {status === "failed" && run?.error && <div className="op-node-errors clipped" title={run.error}>{run.error}</div>}
      <PortHandles ports={spec?.outputs ?? []} side="output" />
    </div>
  );
}

export const OperatorNode = memo(OperatorNodeView);
