// The "try it" form's own curl line: the serving process's example request (URL and headers, an
// Authorization header included when keys are on) with the form's row as its body, so pasting it in a shell
// gives the probability the form just showed.
import type { TryRequest } from "./logic";

/** A value inside a single-quoted shell word: each ' closes the quote, adds an escaped quote, and reopens. */
function shellQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export function curlWithBody(example: string, request: TryRequest): string {
  if (!example) return "";
  const body = shellQuoted(JSON.stringify({ instances: request.instances }));
  const dataFlag = /-d '(?:[^']|'\\'')*'/;
  return dataFlag.test(example) ? example.replace(dataFlag, () => `-d ${body}`) : `${example} -d ${body}`;
}
