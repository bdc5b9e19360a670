// The one session of this tab and the signed-in user, as a tiny observable store. The access
// token lives only inside `Session` (memory); a reload resumes through the httpOnly refresh
// cookie (`refreshToken: "cookie"`), so nothing is ever written to localStorage.
import { MfaRequired, Session, type User } from "@portal-api/client";
import { Changes, useChanges } from "./changes";

const userChanges = new Changes();
let ready = false;

export const session = new Session({
  baseUrl: "",
  refreshToken: "cookie",
  onSignedOut: () => changed(),
});

/**
 * A hint, not a credential: "this browser had a session", so a fresh visitor's first load
 * does not ask for a refresh that can only be refused. The tokens stay in memory and in the
 * httpOnly cookie.
 */
const HINT = "portal.hadSession";

/** Tells every subscribed component that the user (or readiness) changed. */
export function changed(): void {
  try {
    if (session.signedIn) localStorage.setItem(HINT, "1");
    else localStorage.removeItem(HINT);
  } catch {
    // Storage disabled: every load tries the refresh.
  }
  userChanges.notify();
}

function hadSession(): boolean {
  try {
    return localStorage.getItem(HINT) !== "0" && localStorage.getItem(HINT) !== null;
  } catch {
    return true;
  }
}

/**
 * What a provider sign-in left for the sign-in screen: the two-factor challenge the exchange
 * answered, or why it failed. Taken once.
 */
let providerOutcome: { mfaToken: string } | { error: unknown } | null = null;
export function takeProviderOutcome(): typeof providerOutcome {
  const outcome = providerOutcome;
  providerOutcome = null;
  return outcome;
}

/**
 * Back from an OpenID provider the API sent the browser to `redirectTo` with `?signin=<code>`:
 * the code (one use, a minute) is taken off the URL at once, so neither a reload nor the
 * history replays it, and exchanged for a session. A two-factor challenge or a failure goes to
 * the sign-in page, which asks for the code or says what went wrong.
 */
async function finishProviderSignIn(url: URL, code: string): Promise<void> {
  url.searchParams.delete("signin");
  const back = `${url.pathname}${url.search}${url.hash}`;
  history.replaceState(null, "", back);
  try {
    await session.exchangeSignInCode(code);
  } catch (e) {
    providerOutcome = e instanceof MfaRequired ? { mfaToken: e.challenge.mfaToken } : { error: e };
    history.replaceState(null, "", `/signin?redirectTo=${encodeURIComponent(back)}`);
  }
}

/** Resumes the session after a reload; the app renders its routes once this settles. */
export async function boot(): Promise<void> {
  try {
    const url = new URL(location.href);
    const code = url.searchParams.get("signin");
    if (code) await finishProviderSignIn(url, code);
    else if (hadSession()) await session.refresh();
  } catch {
    // Offline or the API is down: start signed out.
  }
  ready = true;
  changed();
}

/** Replaces the user the session holds (after a profile change) and re-renders. */
let override: User | null = null;
export function setUser(user: User): void {
  override = user;
  changed();
}

export function currentUser(): User | null {
  const base = session.user;
  if (!base) return null;
  return override && override.id === base.id ? { ...base, ...override } : base;
}

/** The signed-in user (null when signed out) and whether the session has been resumed. */
export function useSession(): { user: User | null; ready: boolean } {
  useChanges(userChanges);
  return { user: currentUser(), ready };
}

export const api = session.api;

/**
 * After the API ended every session (sign out everywhere, account deleted) there is nothing
 * to log out: a fresh page load drops the in-memory tokens, and without the hint it does not
 * try the (revoked) refresh cookie either.
 */
export function forgetSession(to: string): void {
  try {
    localStorage.removeItem(HINT);
  } catch {
    // nothing stored
  }
  location.assign(to);
}
