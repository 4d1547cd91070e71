import { describe, expect, it } from "vitest";
import { applyEvents, emptyRun, type RunEventMsg } from "./runState";

const ev = (seq: number, type: string, node: string | null, data: Record<string, unknown> = {}): RunEventMsg => ({ seq, type, node, data, time: 1700000000 + seq });

const stream = [
  ev(1, "run_started", null, { nodes: ["a", "b", "c"] }),
  ev(2, "node_running", "a"),
  ev(3, "node_progress", "a", { progress: 0.5, message: "half" }),
  ev(4, "node_cached", "a", { duration: 0.01 }),
  ev(5, "node_running", "b"),
  ev(6, "node_failed", "b", { error: { message: "ValueError: no column 'x'" }, duration: 0.2 }),
  ev(7, "node_skipped", "c", { reason: "upstream node 'b' failed" }),
  ev(8, "run_finished", null, { status: "failed", metrics: {} }),
];

describe("run events", () => {
  it("gives every node its status and the run its end", () => {
    const view = applyEvents(emptyRun, stream);
    expect(view.lastSeq).toBe(8);
    expect(view.status).toBe("failed");
    expect(view.nodes.get("a")).toMatchObject({ status: "cached", progress: 1 });
    expect(view.nodes.get("b")).toMatchObject({ status: "failed", error: "ValueError: no column 'x'" });
    expect(view.nodes.get("c")).toMatchObject({ status: "skipped", error: "upstream node 'b' failed" });
    expect(view.log.some((l) => l.includes("a: half"))).toBe(true);
  });

  it("shows progress while a node runs", () => {
    const view = applyEvents(emptyRun, stream.slice(0, 3));
    expect(view.status).toBe("running");
    expect(view.nodes.get("a")).toMatchObject({ status: "running", progress: 0.5 });
    expect(view.nodes.get("b")).toMatchObject({ status: "queued" });
  });

  it("ends in the same state after a reconnect with ?after= and after duplicates", () => {
    const whole = applyEvents(emptyRun, stream);
    const firstHalf = applyEvents(emptyRun, stream.slice(0, 4));
    // The server replays from after=lastSeq; a duplicated or overlapping delivery must not be applied twice.
    const resumed = applyEvents(applyEvents(firstHalf, stream.slice(2, 6)), stream.slice(firstHalf.lastSeq));
    expect([...resumed.nodes.entries()]).toEqual([...whole.nodes.entries()]);
    expect(resumed.log).toEqual(whole.log);
    expect(applyEvents(whole, stream)).toBe(whole);
  });
});
