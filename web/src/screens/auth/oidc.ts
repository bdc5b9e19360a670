// The last step of an OpenID sign-in: the one-time `?signin=` code the API put on the URL
// becomes a session. `POST /api/v1/auth/oidc/exchange` is not in the generated client yet,
// so it is a plain call; it answers like login (a token pair and the refresh cookie, or an
// MFA challenge). The session then resumes from that cookie, as after a reload.
import { ApiError, MfaRequired, type MfaChallenge } from "@portal-api/client";
import { session } from "../../app/store";

export async function exchangeSignInCode(code: string): Promise<void> {
  const response = await fetch("/api/v1/auth/oidc/exchange", {
    method: "POST",
    credentials: "include",
    headers: { "content-type": "application/json", "x-requested-with": "portal-api-client" },
    body: JSON.stringify({ code }),
  });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw new ApiError(response.status, body, "sign-in");
  if (body && typeof body === "object" && "mfaRequired" in body) throw new MfaRequired(body as MfaChallenge);
  if (!(await session.refresh())) throw new Error("The sign-in could not be completed; please try again.");
}

/** The `?error=` codes the OpenID callback sends back, in words. */
export const OIDC_ERRORS: Record<string, string> = {
  access_denied: "You cancelled signing in with the provider.",
  invalid_state: "The sign-in took too long or was started elsewhere; please try again.",
  email_not_verified: "The provider has not verified your email address.",
  account_suspended: "This account is suspended.",
  provider_error: "The provider could not sign you in.",
};
