import type { components } from "./openapi.js";

export type Problem = components["schemas"]["Problem"];

/** A non-2xx answer of the API, with its problem+json body when it had one. */
export class ApiError extends Error {
  readonly status: number;
  /** The problem's stable `code` (`EMAIL_TAKEN`, `INVALID_TOKEN`...), when there is one. */
  readonly code: string | undefined;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: unknown, what: string) {
    const p = isProblem(problem) ? problem : undefined;
    super(`${what}: ${status}${p ? ` ${p.code}: ${p.detail}` : ""}`);
    this.name = "ApiError";
    this.status = status;
    this.code = p?.code;
    this.problem = p;
  }
}

export function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && typeof (value as Problem).code === "string";
}

/** Reads the `code` of a problem answer without consuming the response. */
export async function problemCode(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.clone().json();
    return isProblem(body) ? body.code : undefined;
  } catch {
    return undefined;
  }
}

/** openapi-fetch's `{ data, error, response }`, as the data or an [`ApiError`]. */
export function unwrap<T>(
  result: { data?: T; error?: unknown; response: Response },
  what: string,
): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  throw new ApiError(result.response.status, result.error, what);
}
