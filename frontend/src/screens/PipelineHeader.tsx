import type { ReactNode } from "react";
import type { Pipeline } from "../api/types";
import { navigate } from "../router";

/** The pipeline's name, its saved version, links to its history, runs, data and a new schedule, and `children`
 * (the run buttons' engine) at the end. */
export function PipelineHeader({ pipeline, children }: { pipeline: Pipeline; children?: ReactNode }) {
  const id = pipeline.id;
  return (
    <header className="page-head">
      <h1>{pipeline.name}</h1>
      <span className="muted" data-testid="saved-version">{pipeline.latest ? `Saved version v${pipeline.latest.number}` : "Not saved yet"}</span>
      <button type="button" className="link" onClick={() => navigate(`/pipelines/${id}/versions`)}>Version history</button>
      <button type="button" className="link" onClick={() => navigate(`/projects/${pipeline.project}/runs`)}>Runs</button>
      <button type="button" className="link" onClick={() => navigate(`/projects/${pipeline.project}/data`)}>Data</button>
      <button type="button" className="link" onClick={() => navigate(`/schedules/new?pipeline=${id}`)}>Schedule this pipeline</button>
      {children}
    </header>
  );
}
