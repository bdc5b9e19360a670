// The `?error=` codes the API's OpenID callback sends the browser back to /signin with, in
// words (the `?signin=` code of a successful one is exchanged at boot, in app/store.ts).
export const OIDC_ERRORS: Record<string, string> = {
  UNKNOWN_PROVIDER: "That sign-in provider is not configured here.",
  INVALID_STATE: "The sign-in took too long or was started in another browser; please try again.",
  PROVIDER_DENIED: "Signing in with the provider was cancelled or refused.",
  PROVIDER_UNAVAILABLE: "The sign-in provider cannot be reached right now; please try again later.",
  EXCHANGE_FAILED: "The provider's answer could not be completed; please try again.",
  INVALID_ID_TOKEN: "The provider's answer could not be trusted; please try again.",
  INVALID_NONCE: "The provider's answer could not be trusted; please try again.",
  EMAIL_NOT_VERIFIED:
    "The provider has not verified your email address, so it cannot be used to sign in here. Verify it with the provider, or sign in with your password.",
  INVITE_REQUIRED: "This portal is by invitation only; ask an administrator for an invite.",
  ACCOUNT_SUSPENDED: "This account is suspended.",
  EMAIL_TAKEN: "An account already uses this email address; sign in with your password first.",
  UNAVAILABLE: "Signing in is unavailable right now; please try again later.",
};
