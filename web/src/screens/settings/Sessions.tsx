// Where the user is signed in: each session with its device and last use, revocable one by
// one, or all at once.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api, forgetSession } from "../../app/store";
import { syncRealtime } from "../../app/live";
import { ErrorText, formatDate, useAction } from "../../app/ui";

type SessionView = components["schemas"]["SessionView"];

export function Sessions() {
  const [items, setItems] = useState<SessionView[]>([]);
  const load = async () => {
    const { data } = await api.GET("/api/v1/auth/sessions");
    setItems(data?.items ?? []);
  };
  useEffect(() => void load(), []);
  const [revoke, , error] = useAction(async (s: SessionView) => {
    const { response, error: problem } = await api.DELETE("/api/v1/auth/sessions/{id}", { params: { path: { id: s.id } } });
    if (!response.ok) throw new Error(problem?.detail ?? "Could not revoke the session.");
    await load();
  });
  const [everywhere, , allError] = useAction(async () => {
    if (!confirm("Sign out on every device, this one included?")) return;
    syncRealtime(null);
    await api.POST("/api/v1/auth/logout-all", { headers: { "x-requested-with": "portal-api-client" } });
    forgetSession("/signin");
  });
  return (
    <>
      <h2>Sessions</h2>
      <ul class="list" aria-label="Sessions">
        {items.map((s) => (
          <li key={s.id}>
            <span>
              {s.userAgent || "Unknown device"} · {s.ip} · last used {formatDate(s.lastUsedAt)}
              {s.current && <strong> (this device)</strong>}
            </span>
            {!s.current && (
              <button type="button" class="secondary" onClick={() => revoke(s)}>
                Revoke session
              </button>
            )}
          </li>
        ))}
      </ul>
      <button type="button" class="secondary" onClick={everywhere}>
        Sign out everywhere
      </button>
      <ErrorText error={error ?? allError} />
    </>
  );
}
