// What the Publish actions share: the prefilled deployment name and which canvas nodes can be published.

/** A deployment name from a pipeline's name: the API's rule (lower case, digits, '-', '_'; it becomes the URL). */
export function deploymentName(from: string): string {
  const slug = from.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^[-_]+|[-_]+$/g, "").slice(0, 100);
  return slug || "model";
}

/** Which canvas nodes can be published: a node with a model output, or one that takes a model to evaluate. */
export function publishable(spec: { inputs: { name: string; type: string }[]; outputs: { type: string }[] } | undefined): boolean {
  if (!spec) return false;
  return spec.outputs.some((p) => p.type === "model") || spec.inputs.some((p) => p.name === "model" && p.type === "model");
}
