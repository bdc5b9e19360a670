// The account's data: a copy of everything the portal holds about the user, and erasing
// the account (asked twice: the password, and a confirmation). An account without a password
// (made through a sign-in link or a provider) confirms with a sign-in of the last 10 minutes
// instead, which the API checks.
import { useState } from "preact/hooks";
import { download } from "../../app/download";
import { syncRealtime } from "../../app/live";
import { api, currentUser, forgetSession, useSession } from "../../app/store";
import { ErrorText, Field, Form, useAction } from "../../app/ui";

export function Account() {
  const [password, setPassword] = useState("");
  const hasPassword = useSession().user?.hasPassword ?? true;
  const [exportData, exporting, exportError] = useAction(() => download("/api/v1/users/me/data-export", "my-portal-data.json"));
  const [erase, erasing, eraseError] = useAction(async () => {
    if (!confirm("Delete your account and everything in it? This cannot be undone.")) return;
    // Closed first: erasing ends this user's connections, and a reconnect would be refused.
    syncRealtime(null);
    const { response, error } = await api.DELETE("/api/v1/users/me", {
      body: hasPassword ? { password } : {},
    });
    if (!response.ok) {
      syncRealtime(currentUser()?.id ?? null);
      throw new Error(error?.detail ?? "Could not delete the account.");
    }
    forgetSession("/?deleted=1");
  });
  return (
    <>
      <h2>Your data</h2>
      <button type="button" class="secondary" onClick={exportData} disabled={exporting}>
        Download my data
      </button>
      <ErrorText error={exportError} />
      <h2>Delete account</h2>
      <Form onSubmit={erase} label="Delete account">
        {hasPassword ? (
          <Field label="Password to delete the account" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        ) : (
          <p>Your account has no password: if you signed in more than 10 minutes ago, sign out and in again first.</p>
        )}
        <button type="submit" class="danger" disabled={erasing}>
          Delete my account
        </button>
        <ErrorText error={eraseError} />
      </Form>
    </>
  );
}
