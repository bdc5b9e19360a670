import { randomUUID } from "node:crypto";

export const PASSWORD = "correct horse battery staple 42";

/** An email no other test uses. */
export function email(who: string): string {
  return `${who}-${randomUUID().slice(0, 8)}@example.com`;
}

/** Waits until `probe` returns something truthy. */
export async function until<T>(what: string, probe: () => T | undefined | false | null, ms = 10000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const found = probe();
    if (found) return found;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `fetch` that records what went out (method, path, the Authorization header) and how it was answered. */
export function recordingFetch() {
  const calls: { method: string; path: string; authorization: string | null; status: number; code?: string }[] = [];
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const response = await globalThis.fetch(request);
    let code: string | undefined;
    if (!response.ok) {
      try {
        code = ((await response.clone().json()) as { code?: string }).code;
      } catch {
        // no JSON body
      }
    }
    calls.push({
      method: request.method,
      path: url.pathname,
      authorization: request.headers.get("authorization"),
      status: response.status,
      code,
    });
    return response;
  };
  return { calls, fetch: fetcher };
}
