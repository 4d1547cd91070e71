import type { Page } from "./types";

/** List endpoints answer a page ({count, results}); a few answer a bare list. Either way: the items. */
export function items<T>(body: Page<T> | T[]): T[] {
  return Array.isArray(body) ? body : body.results;
}
