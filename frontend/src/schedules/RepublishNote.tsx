import { publishingNodes } from "./logic";

/** Whether the scheduled runs republish a model: only through a publish_model or publish_if_better node in the
 * pipeline (a newcomer expected retraining on a schedule to update the deployment by itself). */
export function RepublishNote({ graph }: { graph: unknown }) {
  const nodes = publishingNodes(graph);
  if (!nodes.length)
    return (
      <p className="warn-text" role="note" aria-label="Republishing">
        Scheduled runs retrain but republish nothing: this pipeline has no <code>publish_if_better</code> or{" "}
        <code>publish_model</code> node. To update a deployment on each run, add a <code>publish_if_better</code> node
        (it publishes only a model that scores better) or a <code>publish_model</code> node after the training, on the
        pipeline's canvas.
      </p>
    );
  return (
    <p className="muted" role="note" aria-label="Republishing">
      Each run republishes through {nodes.map((n) => `${n.id} (${n.operator})`).join(", ")}.
    </p>
  );
}
