// The screens the API's emails link to. Each reads `?token=` and calls the matching
// endpoint once; a token is single use, so the result is shown, never retried.
import { ApiError, MfaRequired } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link, navigate, useLocation } from "../../app/router";
import { api, changed, session, setUser } from "../../app/store";
import { describe, ErrorText, Field, Form, Status, useAction } from "../../app/ui";
import { MfaStep } from "./MfaStep";

type Outcome = { state: "working" } | { state: "done"; text: string } | { state: "failed"; text: string };

/** Runs `call` once with the token from the URL and reports how it went. */
function useTokenCall(call: (token: string) => Promise<string>): Outcome {
  const { query } = useLocation();
  const [token] = useState(() => query.get("token") ?? "");
  const [outcome, setOutcome] = useState<Outcome>({ state: "working" });
  useEffect(() => {
    // A single-use token has no business staying in the address bar or the history.
    if (token) history.replaceState(null, "", location.pathname);
    if (!token) {
      setOutcome({ state: "failed", text: "This link has no token." });
      return;
    }
    call(token)
      .then((text) => setOutcome({ state: "done", text }))
      .catch((e) => setOutcome({ state: "failed", text: describe(e) }));
  }, [token]);
  return outcome;
}

function Result({ title, outcome }: { title: string; outcome: Outcome }) {
  return (
    <section class="narrow">
      <h1>{title}</h1>
      {outcome.state === "working" && <Status>Checking your link…</Status>}
      {outcome.state === "done" && <Status>{outcome.text}</Status>}
      {outcome.state === "failed" && (
        <p role="alert" class="error">
          {outcome.text}
        </p>
      )}
      <p>
        <Link href="/">Continue</Link>
      </p>
    </section>
  );
}

/** Re-reads the signed-in user so the banner and profile show the change. */
async function reloadUser(): Promise<void> {
  if (!session.signedIn) return;
  const { data } = await api.GET("/api/v1/users/me");
  if (data) setUser(data);
}

export function VerifyEmail() {
  const outcome = useTokenCall(async (token) => {
    const { data, error } = await api.GET("/api/v1/auth/verify-email", { params: { query: { token } } });
    if (!data) throw new Error(error?.detail ?? "This verification link cannot be used.");
    await reloadUser();
    return "Your email address is verified.";
  });
  return <Result title="Email verification" outcome={outcome} />;
}

export function ConfirmEmailChange() {
  const outcome = useTokenCall(async (token) => {
    const { data, error } = await api.POST("/api/v1/auth/confirm-email-change", { body: { token } });
    if (!data) throw new Error(error?.detail ?? "This confirmation link cannot be used.");
    await reloadUser();
    return `Your email address is now ${data.email}.`;
  });
  return <Result title="Confirm your new email" outcome={outcome} />;
}

export function MagicLink() {
  const { query } = useLocation();
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [token] = useState(() => query.get("token") ?? "");
  useEffect(() => {
    history.replaceState(null, "", location.pathname);
    // The verify answer is a sign-in (tokens + cookie); the session resumes from the cookie.
    fetch("/api/v1/auth/magic-link/verify", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    })
      .then(async (r) => {
        const body = (await r.json().catch(() => ({}))) as { mfaRequired?: boolean; mfaToken?: string; detail?: string };
        if (!r.ok) throw new Error(body.detail ?? "This sign-in link cannot be used.");
        if (body.mfaRequired && body.mfaToken) return setMfaToken(body.mfaToken);
        if (!(await session.refresh())) throw new Error("The sign-in could not be completed.");
        changed();
        navigate("/", true);
      })
      .catch((e) => (e instanceof MfaRequired ? setMfaToken(e.challenge.mfaToken) : setError(e)));
  }, [token]);
  const done = () => {
    changed();
    navigate("/", true);
  };
  if (mfaToken) return <MfaStep mfaToken={mfaToken} onDone={done} />;
  return (
    <section class="narrow">
      <h1>Signing you in</h1>
      {error ? <ErrorText error={error} /> : <Status>Checking your link…</Status>}
      {error && <Link href="/signin">Back to sign in</Link>}
    </section>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const [submit, busy, error] = useAction(async () => {
    const { response, error: problem } = await api.POST("/api/v1/auth/forgot-password", { body: { email } });
    if (!response.ok) throw new Error(problem?.detail ?? "Could not send the link.");
    setSent(true);
  });
  return (
    <section class="narrow">
      <h1>Reset your password</h1>
      <Form onSubmit={submit}>
        <Field label="Email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Send reset link
        </button>
      </Form>
      {sent && <Status>If {email} has an account, a reset link is on its way.</Status>}
    </section>
  );
}

export function ResetPassword() {
  const { query } = useLocation();
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const [submit, busy, error] = useAction(async () => {
    const token = query.get("token") ?? "";
    const { response, error: problem } = await api.POST("/api/v1/auth/reset-password", { body: { token, password } });
    if (!response.ok) throw new ApiError(response.status, problem, "reset-password");
    setDone(true);
  });
  return (
    <section class="narrow">
      <h1>Choose a new password</h1>
      {done ? (
        <Status>
          Your password is changed. <Link href="/signin">Sign in</Link>
        </Status>
      ) : (
        <Form onSubmit={submit}>
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            required
            minLength={10}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <ErrorText error={error} />
          <button type="submit" disabled={busy}>
            Set password
          </button>
        </Form>
      )}
    </section>
  );
}
