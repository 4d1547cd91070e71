// Compare: one evaluation's metrics in two runs as one table, a column per run, the better value starred (the
// table two models of one evaluation get). Two separate tables, half a screen apart, left the reader to pair
// 0.9413 with 0.9487 by eye.

/** The metrics of run `a` and run `b` in the paired form MetricsView reads (b's prefixed b_, the runs as models);
 * null when either is already a two-model evaluation (its b_ keys are taken). */
export function runsPaired(a: Record<string, unknown>, b: Record<string, unknown>, nameA: string, nameB: string): Record<string, unknown> | null {
  if ([a, b].some((m) => Object.keys(m).some((k) => k.startsWith("b_") || k === "model_b"))) return null;
  const paired: Record<string, unknown> = { model: nameA, model_b: nameB };
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (k === "model") continue;
    paired[k] = a[k];
    paired[`b_${k}`] = b[k];
  }
  return paired;
}
