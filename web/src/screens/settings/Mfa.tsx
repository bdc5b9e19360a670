// Two-factor sign-in with an authenticator app (TOTP): set up (the secret to enter or the
// otpauth link to open), confirm with a first code (which returns recovery codes, shown
// once), or turn off with a current code.
import type { components } from "@portal-api/client";
import { useState } from "preact/hooks";
import { api, setUser, useSession } from "../../app/store";
import { ErrorText, Field, Form, Status, useAction } from "../../app/ui";

type Setup = components["schemas"]["TotpSetup"];

async function reload() {
  const { data } = await api.GET("/api/v1/users/me");
  if (data) setUser(data);
}

export function Mfa() {
  const { user } = useSession();
  const [setup, setSetup] = useState<Setup | null>(null);
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState<string[] | null>(null);

  const [start, starting, startError] = useAction(async () => {
    const { data, error } = await api.POST("/api/v1/users/me/mfa/totp", {});
    if (!data) throw new Error(error?.detail ?? "Could not start the setup.");
    setSetup(data);
  });
  const [confirmCode, confirming, confirmError] = useAction(async () => {
    const { data, error } = await api.POST("/api/v1/users/me/mfa/totp/confirm", { body: { code: code.trim() } });
    if (!data) throw new Error(error?.detail ?? "That code is not right.");
    setRecovery(data.recoveryCodes);
    setSetup(null);
    setCode("");
    await reload();
  });
  const [disable, disabling, disableError] = useAction(async () => {
    const { response, error } = await api.DELETE("/api/v1/users/me/mfa", { body: { code: code.trim() } });
    if (!response.ok) throw new Error(error?.detail ?? "That code is not right.");
    setCode("");
    setRecovery(null);
    await reload();
  });

  return (
    <>
      <h2>Two-factor authentication</h2>
      {recovery && (
        <div role="region" aria-label="Recovery codes">
          <Status>Two-factor authentication is on. Keep these recovery codes somewhere safe; each works once.</Status>
          <ul>
            {recovery.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {user?.mfaEnabled && !recovery && <p>Two-factor authentication is on.</p>}
      {user?.mfaEnabled && (
        <Form onSubmit={disable} label="Turn off two-factor">
          <Field label="Code to turn off two-factor" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          <button type="submit" class="danger" disabled={disabling}>
            Turn off two-factor
          </button>
          <ErrorText error={disableError} />
        </Form>
      )}
      {!user?.mfaEnabled && !setup && (
        <>
          <p>Two-factor authentication is off.</p>
          <button type="button" onClick={start} disabled={starting}>
            Set up two-factor
          </button>
          <ErrorText error={startError} />
        </>
      )}
      {setup && (
        <Form onSubmit={confirmCode} label="Confirm two-factor">
          <p>
            Add this key to your authenticator app: <code aria-label="Secret key">{setup.secret}</code> (or{" "}
            <a href={setup.otpauthUri}>open it in the app</a>), then enter the code it shows.
          </p>
          <Field label="Code from the app" inputMode="numeric" autoComplete="one-time-code" required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          <button type="submit" disabled={confirming}>
            Turn on two-factor
          </button>
          <ErrorText error={confirmError} />
        </Form>
      )}
    </>
  );
}
