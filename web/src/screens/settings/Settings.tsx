// Settings: preferences (directory visibility, notifications, theme), password and email
// changes; security (sessions, two-factor, linked sign-in providers) and the account's data
// are in their own parts.
import { useState } from "preact/hooks";
import { api, setUser, useSession } from "../../app/store";
import { ErrorText, Field, Form, Select, Status, useAction } from "../../app/ui";
import { Account } from "./Account";
import { Identities } from "./Identities";
import { Mfa } from "./Mfa";
import { Sessions } from "./Sessions";

export function Settings() {
  const { user } = useSession();
  const prefs = user!.preferences;
  const [discoverable, setDiscoverable] = useState(prefs.discoverable ?? true);
  const [notifications, setNotifications] = useState(prefs.notifications);
  const [emailUpdates, setEmailUpdates] = useState(prefs.emailUpdates);
  const [theme, setTheme] = useState(prefs.theme);
  const [saved, setSaved] = useState(false);

  const [save, saving, error] = useAction(async () => {
    setSaved(false);
    const { data, error: problem } = await api.PATCH("/api/v1/users/me", {
      body: { preferences: { discoverable, notifications, emailUpdates, theme } },
    });
    if (!data) throw new Error(problem?.detail ?? "Could not save the preferences.");
    setUser(data);
    setSaved(true);
  });

  return (
    <section>
      <h1>Settings</h1>
      <h2>Preferences</h2>
      <Form onSubmit={save} label="Preferences">
        <label class="field inline">
          <input type="checkbox" checked={discoverable} onChange={(e) => setDiscoverable(e.currentTarget.checked)} />
          <span>Show me in the people directory</span>
        </label>
        <label class="field inline">
          <input type="checkbox" checked={notifications} onChange={(e) => setNotifications(e.currentTarget.checked)} />
          <span>Notifications in the portal</span>
        </label>
        <label class="field inline">
          <input type="checkbox" checked={emailUpdates} onChange={(e) => setEmailUpdates(e.currentTarget.checked)} />
          <span>Email me news and updates</span>
        </label>
        <Select
          label="Theme"
          value={theme}
          options={[
            ["system", "As the system"],
            ["light", "Light"],
            ["dark", "Dark"],
          ]}
          onChange={(e) => setTheme(e.currentTarget.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={saving}>
          Save preferences
        </button>
        {saved && <Status>Preferences saved.</Status>}
      </Form>
      <PasswordChange />
      <EmailChange />
      <Sessions />
      <Mfa />
      <Identities />
      <Account />
    </section>
  );
}

/** An account without a password (a sign-in link or a provider made it) sets one by email. */
function PasswordSet({ email }: { email: string }) {
  const [sent, setSent] = useState(false);
  const [send, busy, error] = useAction(async () => {
    const { response, error: problem } = await api.POST("/api/v1/auth/forgot-password", { body: { email } });
    if (!response.ok) throw new Error(problem?.detail ?? "Could not send the link.");
    setSent(true);
  });
  return (
    <>
      <h2>Set a password</h2>
      <p>Your account has no password yet. We can email you a link to set one.</p>
      <button type="button" onClick={send} disabled={busy}>
        Email me a link to set a password
      </button>
      <ErrorText error={error} />
      {sent && <Status>We sent a link to {email}.</Status>}
    </>
  );
}

function PasswordChange() {
  const user = useSession().user;
  if (user && !user.hasPassword) return <PasswordSet email={user.email} />;
  return <PasswordForm />;
}

function PasswordForm() {
  const [currentPassword, setCurrent] = useState("");
  const [newPassword, setNew] = useState("");
  const [done, setDone] = useState(false);
  const [submit, busy, error] = useAction(async () => {
    setDone(false);
    const { response, error: problem } = await api.POST("/api/v1/users/me/password", { body: { currentPassword, newPassword } });
    if (!response.ok) throw new Error(problem?.detail ?? "Could not change the password.");
    setCurrent("");
    setNew("");
    setDone(true);
  });
  return (
    <>
      <h2>Change password</h2>
      <Form onSubmit={submit} label="Change password">
        <Field label="Current password" type="password" autoComplete="current-password" required value={currentPassword} onInput={(e) => setCurrent(e.currentTarget.value)} />
        <Field label="New password" type="password" autoComplete="new-password" minLength={10} required value={newPassword} onInput={(e) => setNew(e.currentTarget.value)} />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Change password
        </button>
        {done && <Status>Your password is changed; your other sessions were signed out.</Status>}
      </Form>
    </>
  );
}

function EmailChange() {
  const [newEmail, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sent, setSent] = useState("");
  // Without a password, the API takes a sign-in of the last 10 minutes as the confirmation.
  const hasPassword = useSession().user?.hasPassword ?? true;
  const [submit, busy, error] = useAction(async () => {
    const body = hasPassword ? { newEmail, password } : { newEmail };
    const { response, error: problem } = await api.POST("/api/v1/users/me/email", { body });
    if (!response.ok) throw new Error(problem?.detail ?? "Could not start the change.");
    setSent(newEmail);
    setPassword("");
  });
  return (
    <>
      <h2>Change email</h2>
      <Form onSubmit={submit} label="Change email">
        <Field label="New email" type="email" required value={newEmail} onInput={(e) => setEmail(e.currentTarget.value)} />
        {hasPassword && (
          <Field label="Password to confirm" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        )}
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Send confirmation link
        </button>
        {sent && <Status>We sent a confirmation link to {sent}; the change happens when you open it.</Status>}
      </Form>
    </>
  );
}
