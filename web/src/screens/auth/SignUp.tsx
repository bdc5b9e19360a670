// Sign-up: name, email, password. An invite link (`/signup?token=`) fills in the invited
// email and sends the invite token along, so the account gets the invite's role.
import { useEffect, useState } from "preact/hooks";
import { navigate, Link, useLocation } from "../../app/router";
import { api, changed, session } from "../../app/store";
import { ErrorText, Field, Form, Status, useAction } from "../../app/ui";

export function SignUp() {
  const { query } = useLocation();
  const inviteToken = query.get("token");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [invite, setInvite] = useState<string | null>(null);
  const [inviteError, setInviteError] = useState<unknown>(null);

  useEffect(() => {
    if (!inviteToken) return;
    api
      .GET("/api/v1/auth/invites/{id}", { params: { path: { id: inviteToken } } })
      .then(({ data, error }) => {
        if (data) {
          setInvite(data.email);
          setEmail(data.email);
        } else setInviteError(new Error(error?.detail ?? "This invite cannot be used."));
      })
      .catch(setInviteError);
  }, [inviteToken]);

  const [submit, busy, error] = useAction(async () => {
    await session.signUp({ name, email, password, inviteToken: inviteToken ?? undefined });
    changed();
    navigate("/", true);
  });

  return (
    <section class="narrow">
      <h1>Create your account</h1>
      {invite && <Status>You were invited as {invite}.</Status>}
      <ErrorText error={inviteError} />
      <Form onSubmit={submit} label="Sign up">
        <Field label="Name" autoComplete="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
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
          autoComplete="new-password"
          required
          minLength={10}
          hint="At least 10 characters, not easy to guess."
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Create account
        </button>
      </Form>
      <p>
        Already registered? <Link href="/signin">Sign in</Link>
      </p>
    </section>
  );
}
