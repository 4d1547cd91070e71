// What the Publish actions share: the prefilled deployment name and which canvas nodes can be published.

/** A deployment name from a pipeline's name: the API's rule (lower case, digits, '-', '_'; it becomes the URL). */
export function deploymentName(from: string): string {
  const slug = from.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+|[-_]+$/g, "").slice(0, 100);
  return slug || "model";
}

/**
 * Which canvas nodes can be published: a node with a model output, or one that takes a model to evaluate when an
 * edge brings one to its `model` input (evaluate_binary scoring a predict node's table has none: the API would
 * answer "no model connected", so no Publish button is offered).
 */
export function publishable(
  spec: { inputs: { name: string; type: string }[]; outputs: { type: string }[] } | undefined,
  wiredInputs: ReadonlySet<string>,
): boolean {
  if (!spec) return false;
  if (spec.outputs.some((p) => p.type === "model")) return true;
  return wiredInputs.has("model") && spec.inputs.some((p) => p.name === "model" && p.type === "model");
}

/** The operators that declare a model output (train_*, automl_*, ...): the run nodes a model can be published from. */
export function modelOperators(ops: readonly { name: string; outputs: readonly { type: string }[] }[]): Set<string> {
  return new Set(ops.filter((o) => o.outputs.some((p) => p.type === "model")).map((o) => o.name));
}

/** A run's nodes that a model can be published from (an operator with a model output), in the run's order. */
export function modelNodes<N extends { node: string; operator?: string | null }>(nodes: readonly N[], models: ReadonlySet<string>): N[] {
  return nodes.filter((n) => models.has(n.operator ?? ""));
}
