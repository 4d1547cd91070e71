// The one way the app talks to the studio: same-origin fetch with the session cookie and Django's CSRF token.
// Errors come back in the API's one shape: {code, message, errors: [{path, message, code, node?, field?, port?}]}.

export interface ApiErrorEntry {
  path?: string;
  message: string;
  code?: string;
  node?: string | null;
  field?: string | null;
  port?: string | null;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: ApiErrorEntry[] = [],
  ) {
    super(message);
  }
}

function cookie(name: string): string {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

// An answer's body as JSON; null when it is empty or not JSON (a proxy's HTML error page, say).
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const init: RequestInit = { method, credentials: "same-origin", headers };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = cookie("csrftoken");
  if (body instanceof FormData) {
    init.body = body; // multipart: the browser sets the content type with its boundary
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return undefined as T;
  const data = parseJson(await response.text());
  if (!response.ok) {
    const shaped = (data ?? {}) as { code?: string; message?: string; detail?: string; errors?: ApiErrorEntry[] };
    throw new ApiFailure(
      response.status,
      shaped.code ?? String(response.status),
      shaped.message ?? shaped.detail ?? `${method} ${path} answered ${response.status}`,
      shaped.errors ?? [],
    );
  }
  return data as T;
}

/** What a failed call says to a person: the API's error entries, else the error's own message. */
export function failureMessage(e: unknown): string {
  if (e instanceof ApiFailure && e.errors.length) return e.errors.map((x) => x.message).join("; ");
  return e instanceof Error ? e.message : String(e);
}

export const get = <T>(path: string) => api<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => api<T>("POST", path, body ?? {});
export const patch = <T>(path: string, body: unknown) => api<T>("PATCH", path, body);
export const del = (path: string) => api<void>("DELETE", path);
