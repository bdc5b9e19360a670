// The second step of a sign-in with two-factor on: the authenticator's 6-digit code, or one
// of the recovery codes given when two-factor was turned on.
import { useState } from "preact/hooks";
import { session } from "../../app/store";
import { ErrorText, Field, Form, useAction } from "../../app/ui";

export function MfaStep({ mfaToken, onDone }: { mfaToken: string; onDone: () => void }) {
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  const [submit, busy, error] = useAction(async () => {
    await session.verifyMfa(mfaToken, recovery ? { recoveryCode: code.trim() } : { code: code.trim() });
    onDone();
  });
  return (
    <section class="narrow">
      <h1>Two-factor authentication</h1>
      <Form onSubmit={submit} label="Two-factor code">
        <Field
          label={recovery ? "Recovery code" : "Authentication code"}
          autoComplete="one-time-code"
          inputMode={recovery ? "text" : "numeric"}
          required
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Verify
        </button>
      </Form>
      <button type="button" class="link" onClick={() => setRecovery(!recovery)}>
        {recovery ? "Use an authenticator code" : "Use a recovery code"}
      </button>
    </section>
  );
}
