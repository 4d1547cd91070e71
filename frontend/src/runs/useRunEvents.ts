import { useEffect, useRef, useState } from "react";
import { post } from "../api/client";
import { applyEvents, emptyRun, type RunEventMsg, type RunView } from "./runState";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Follow a run over the WebSocket /ws/runs/<id>/?after=<seq>&ticket=<ticket>. When the socket drops before the run
 * ends, it reconnects with the last seq it applied, and the server replays exactly what was missed. Each connection
 * takes a fresh single-use ticket (POST /api/auth/ws-ticket/), so no lasting credential is ever in a URL.
 */
export function useRunEvents(runId: number | null): RunView {
  // The view is kept with the run it belongs to: in the render where runId has just changed, the previous run's
  // node states must not be shown as this run's (the outputs panel and the column pickers would ask the API for
  // outputs of nodes that have not even started in the new run).
  const [state, setState] = useState<{ runId: number | null; view: RunView }>({ runId, view: emptyRun });
  const last = useRef(0);

  useEffect(() => {
    const setView = (update: (v: RunView) => RunView) =>
      setState((s) => ({ runId, view: update(s.runId === runId ? s.view : emptyRun) }));
    setState({ runId, view: emptyRun });
    last.current = 0;
    if (runId === null) return;
    let socket: WebSocket | null = null;
    let retry: number | undefined;
    let stopped = false;
    let finished = false;
    let pending: RunEventMsg[] = [];
    let frame: number | undefined;

    const flush = () => {
      frame = undefined;
      const batch = pending;
      pending = [];
      setView((v) => applyEvents(v, batch));
    };

    let quietReconnects = 0; // reconnects that brought nothing new: stop after a few (the run is over or gone)
    const retryLater = () => {
      quietReconnects += 1;
      if (quietReconnects <= 3 && !stopped) retry = window.setTimeout(() => void open(), 500 + 500 * quietReconnects);
    };
    const open = async () => {
      let ticket: string;
      try {
        ticket = (await post<{ ticket: string }>("/api/auth/ws-ticket/")).ticket;
      } catch {
        retryLater(); // logged out, or the server is restarting
        return;
      }
      if (stopped) return;
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      const query = `after=${last.current}&ticket=${encodeURIComponent(ticket)}`;
      socket = new WebSocket(`${scheme}://${window.location.host}/ws/runs/${runId}/?${query}`);
      let received = false;
      socket.onmessage = (msg) => {
        received = true;
        const event = JSON.parse(msg.data as string) as RunEventMsg;
        if (event.seq <= last.current) return;
        last.current = event.seq;
        if (event.type === "run_finished") finished = FINISHED.has(String(event.data?.status ?? "failed"));
        pending.push(event);
        frame ??= window.setTimeout(flush, 50); // one render per burst of events
      };
      socket.onclose = (close) => {
        socket = null;
        // The server closes with 1000 after run_finished; 4404 / 4400: no such run for this user, bad ?after.
        if (stopped || finished || close.code === 4404 || close.code === 4400) return;
        quietReconnects = received ? 0 : quietReconnects + 1;
        if (quietReconnects > 3) return;
        retry = window.setTimeout(() => void open(), 500 + 500 * quietReconnects);
      };
    };
    void open();
    return () => {
      stopped = true;
      if (retry !== undefined) window.clearTimeout(retry);
      if (frame !== undefined) {
        window.clearTimeout(frame);
        flush();
      }
      socket?.close();
    };
  }, [runId]);

  return state.runId === runId ? state.view : emptyRun;
}
