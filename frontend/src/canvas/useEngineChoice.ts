import { useCallback, useState } from "react";
import { get, patch } from "../api/client";
import type { Pipeline, Run } from "../api/types";
import { asEngine, type Engine } from "./EngineSelect";

/** The Engine picker's value and the engine of the run shown. The choice is kept with the pipeline, so the page
 * opens on it again; a ?run=<id> link (from a schedule's history) shows that run's engine instead. */
export function useEngineChoice(pipelineId: string, onError: (message: string) => void) {
  const [engine, setEngine] = useState<Engine>("local");
  const [runEngine, setRunEngine] = useState<string>("");

  const choose = useCallback(
    (next: Engine) => {
      setEngine(next);
      patch<Pipeline>(`/api/pipelines/${pipelineId}/`, { engine: next }).catch((e: Error) => onError(`The engine choice was not saved: ${e.message}`));
    },
    [pipelineId, onError],
  );

  /** On opening: the run to show (the asked one, else the latest) and the engines to show with it. */
  const open = useCallback((pipeline: Pipeline, latest: Run | undefined, asked: number, alive: () => boolean): number | null => {
    setEngine(asEngine(pipeline.engine));
    if (!asked) {
      setRunEngine(latest?.engine ?? "");
      return latest ? latest.id : null;
    }
    get<Run>(`/api/runs/${asked}/`)
      .then((r) => {
        if (!alive()) return;
        setRunEngine(r.engine);
        setEngine(asEngine(r.engine));
      })
      .catch(() => undefined); // a run not found: the run panel says so
    return asked;
  }, []);

  return { engine, runEngine, setRunEngine, choose, open };
}
