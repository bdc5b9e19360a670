import createClient, { type Client } from "openapi-fetch";
import { ApiError, problemCode, unwrap } from "./errors.js";
import type { components, paths } from "./openapi.js";

type Schemas = components["schemas"];
export type User = Schemas["User"];
export type SignupRequest = Schemas["SignupRequest"];
export type LoginRequest = Schemas["LoginRequest"];
export type AuthResponse = Schemas["AuthResponse"];
export type MfaChallenge = Schemas["MfaChallenge"];

/** A sign-in that needs its second factor: pass `mfaToken` and a code to `verifyMfa`. */
export class MfaRequired extends Error {
  constructor(readonly challenge: MfaChallenge) {
    super("two-factor code required");
    this.name = "MfaRequired";
  }
}
export type Api = Client<paths>;

export interface SessionOptions {
  /** Where the API is: `http://127.0.0.1:7071`, or `""` in a browser on the same origin. */
  baseUrl: string;
  /** The `fetch` every call goes through (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Where the refresh token lives. `"memory"` (default): the session keeps the one each
   * sign-in answer carries and sends it in the body of `POST /api/v1/auth/refresh`.
   * `"cookie"`: the session never holds it; a browser sends the httpOnly `refresh_token`
   * cookie the API set (scoped to `/api/v1/auth`) and the refresh call has an empty body.
   */
  refreshToken?: "memory" | "cookie";
  /** Told when the session ends without `logOut` (the refresh token was refused). */
  onSignedOut?: (reason: string) => void;
}

/**
 * A signed-in user's session. The access token is kept in memory only. Every call made
 * through `api` (or `fetch`) carries it; an answer 401 with the problem code `INVALID_TOKEN`
 * (expired or unknown token) makes the session refresh it once, with one refresh shared by
 * every caller waiting at that moment, and the call is retried once with the new token.
 */
export class Session {
  /** The generated client; its calls are authenticated by this session. */
  readonly api: Api;
  readonly baseUrl: string;

  #accessToken: string | null = null;
  #refreshToken: string | null = null;
  #user: User | null = null;
  #refreshing: Promise<boolean> | null = null;
  readonly #fetch: typeof fetch;
  readonly #mode: "memory" | "cookie";
  readonly #onSignedOut: ((reason: string) => void) | undefined;
  /** The same API without this session's token: sign-in and refresh calls. */
  readonly #anonymous: Api;

  constructor(options: SessionOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#mode = options.refreshToken ?? "memory";
    this.#onSignedOut = options.onSignedOut;
    this.#anonymous = createClient<paths>({
      baseUrl: this.baseUrl,
      fetch: (request: Request) => this.#fetch(request),
    });
    this.api = createClient<paths>({
      baseUrl: this.baseUrl,
      fetch: (request: Request) => this.fetch(request),
    });
  }

  /** The signed-in user, as the last sign-in or refresh answered it. */
  get user(): User | null {
    return this.#user;
  }

  get signedIn(): boolean {
    return this.#accessToken !== null;
  }

  async signUp(request: SignupRequest): Promise<User> {
    const answer = unwrap(
      await this.#anonymous.POST("/api/v1/auth/signup", {
        body: request,
        credentials: "include",
      }),
      "sign-up",
    );
    return this.#accept(answer);
  }

  /** Signs in; with two-factor on it rejects with `MfaRequired`, for `verifyMfa`. */
  async logIn(request: LoginRequest): Promise<User> {
    return this.#signIn(
      await this.#anonymous.POST("/api/v1/auth/login", {
        body: request,
        credentials: "include",
      }),
      "login",
    );
  }

  /**
   * Finishes an OpenID Connect sign-in: the one-time `?signin=` code the API's callback put
   * on the app's URL becomes a session. Answers like `logIn` (rejects with `MfaRequired` when
   * the account has two-factor on).
   */
  async exchangeSignInCode(code: string): Promise<User> {
    return this.#signIn(
      await this.#anonymous.POST("/api/v1/auth/oidc/exchange", {
        body: { code },
        credentials: "include",
        headers: SCRIPT_HEADER,
      }),
      "sign-in exchange",
    );
  }

  /** The second step of a sign-in: the authenticator's code, or a recovery code. */
  async verifyMfa(mfaToken: string, second: { code: string } | { recoveryCode: string }): Promise<User> {
    const answer = unwrap(
      await this.#anonymous.POST("/api/v1/auth/mfa/verify", {
        body: { mfaToken, ...second },
        credentials: "include",
      }),
      "mfa",
    );
    return this.#accept(answer);
  }

  /** Ends this session on the server (its tokens stop working) and forgets it here. */
  async logOut(): Promise<void> {
    if (!this.signedIn) return;
    try {
      const { response, error } = await this.api.POST("/api/v1/auth/logout", {
        credentials: "include",
        headers: SCRIPT_HEADER,
      });
      // Already ended on the server (revoked, expired refresh) is as good as a logout.
      if (!response.ok && response.status !== 401) {
        throw new ApiError(response.status, error, "logout");
      }
    } finally {
      this.#clear();
    }
  }

  /**
   * Gets a new token pair with the refresh token. Concurrent callers share one request.
   * Resolves false (and signs out) when the API refuses the refresh token. In cookie mode it
   * also resumes a session after a page reload: nothing in memory, the cookie is enough.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#refreshOnce().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /** `fetch` with this session's access token, refreshed once on `INVALID_TOKEN`. */
  readonly fetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const used = this.#accessToken;
    if (used === null) return this.#fetch(request);
    // Kept before the first attempt consumes the body.
    const retry = request.clone();
    const first = await this.#fetch(withToken(request, used));
    if (first.status !== 401 || (await problemCode(first)) !== "INVALID_TOKEN") return first;
    // Another caller may have refreshed while this request was out: then use its token.
    const current = this.#accessToken;
    const renewed = current !== null && current !== used ? true : await this.refresh();
    if (!renewed || this.#accessToken === null) return first;
    return this.#fetch(withToken(retry, this.#accessToken));
  };

  async #refreshOnce(): Promise<boolean> {
    const presented = this.#mode === "memory" ? this.#refreshToken : null;
    if (this.#mode === "memory" && presented === null) return false;
    const { data, response } = await this.#anonymous.POST("/api/v1/auth/refresh", {
      body: presented === null ? {} : { refreshToken: presented },
      credentials: "include",
      headers: SCRIPT_HEADER,
    });
    if (data) {
      this.#accept(data);
      return true;
    }
    if (response.status === 401) {
      this.#clear();
      this.#onSignedOut?.((await problemCode(response)) ?? "INVALID_REFRESH_TOKEN");
    }
    return false;
  }

  /** A sign-in answer (login, OpenID exchange): the session, or the two-factor challenge. */
  #signIn(result: { data?: AuthResponse | MfaChallenge; error?: unknown; response: Response }, what: string): User {
    const answer = unwrap(result, what);
    if ("mfaRequired" in answer) throw new MfaRequired(answer);
    return this.#accept(answer);
  }

  #accept(answer: AuthResponse): User {
    this.#accessToken = answer.accessToken;
    // Absent when the API keeps the refresh token in its cookie only.
    if (this.#mode === "memory") this.#refreshToken = answer.refreshToken ?? null;
    this.#user = answer.user;
    return answer.user;
  }

  #clear(): void {
    this.#accessToken = null;
    this.#refreshToken = null;
    this.#user = null;
  }
}

/**
 * Sent on refresh and logout: with `AUTH_REFRESH_TRANSPORT=cookie` the API requires it, as
 * proof the call comes from script (a cross-site form cannot send it).
 */
const SCRIPT_HEADER = { "x-requested-with": "portal-api-client" };

function withToken(request: Request, token: string): Request {
  const headers = new Headers(request.headers);
  headers.set("authorization", `Bearer ${token}`);
  return new Request(request, { headers });
}
