// Sign-in: password (with the MFA step when the account has two-factor on), an emailed
// magic link, and the configured OpenID providers. A provider sign-in that failed comes back
// here with `?error=<code>`; one that needs the second factor (its `?signin=` code was
// exchanged at boot) comes back here for the code.
import { MfaRequired } from "@portal-api/client";
import { useState } from "preact/hooks";
import { Link, navigate, useLocation } from "../../app/router";
import { api, changed, session, takeProviderOutcome } from "../../app/store";
import { ErrorText, Field, Form, Status, useAction } from "../../app/ui";
import { OIDC_ERRORS } from "./oidc";
import { MfaStep } from "./MfaStep";
import { Providers } from "./Providers";

/** Where to go after signing in: a same-site path only, never another origin. */
function destination(query: URLSearchParams): string {
  const to = query.get("redirectTo") ?? "/";
  return to.startsWith("/") && !to.startsWith("//") ? to : "/";
}

export function SignIn() {
  const { query } = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [outcome] = useState(takeProviderOutcome);
  const [mfaToken, setMfaToken] = useState<string | null>(outcome && "mfaToken" in outcome ? outcome.mfaToken : null);
  const exchangeError = outcome && "error" in outcome ? outcome.error : null;
  const oidcError = query.get("error");

  const done = () => {
    changed();
    navigate(destination(query), true);
  };

  const [submit, busy, error] = useAction(async () => {
    try {
      await session.logIn({ email, password });
      done();
    } catch (e) {
      if (e instanceof MfaRequired) setMfaToken(e.challenge.mfaToken);
      else throw e;
    }
  });

  const [magicNote, setMagicNote] = useState("");
  const [sendLink, sending, linkError] = useAction(async () => {
    const { response, error: problem } = await api.POST("/api/v1/auth/magic-link", { body: { email } });
    if (!response.ok) throw new Error(problem?.detail ?? "Could not send the link.");
    setMagicNote(`If ${email} has an account, a sign-in link is on its way.`);
  });

  if (mfaToken) return <MfaStep mfaToken={mfaToken} onDone={done} />;

  return (
    <section class="narrow">
      <h1>Sign in</h1>
      {oidcError && (
        <p role="alert" class="error">
          {OIDC_ERRORS[oidcError] ?? `Signing in with the provider failed (${oidcError}).`}
        </p>
      )}
      <ErrorText error={exchangeError} />
      <Form onSubmit={submit} label="Sign in">
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </Form>
      <p>
        <button type="button" class="link" disabled={sending || !email} onClick={sendLink}>
          Email me a sign-in link
        </button>{" "}
        · <Link href="/forgot-password">Forgot your password?</Link> · <Link href="/signup">Create an account</Link>
      </p>
      {magicNote && <Status>{magicNote}</Status>}
      <ErrorText error={linkError} />
      <Providers redirectTo={destination(query)} />
    </section>
  );
}
