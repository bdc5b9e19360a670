// The OpenID providers the API is configured with, each a plain link: the provider's pages
// need a full navigation, not a fetch.
import { useEffect, useState } from "preact/hooks";
import { session } from "../../app/store";

interface Provider {
  name: string;
  label: string;
}

export function Providers({ redirectTo }: { redirectTo: string }) {
  const [items, setItems] = useState<Provider[]>([]);
  useEffect(() => {
    // Not in the generated client yet: a plain call.
    session
      .fetch("/api/v1/auth/providers")
      .then(async (r) => (r.ok ? ((await r.json()) as { items: Provider[] }).items : []))
      .then(setItems)
      .catch(() => setItems([]));
  }, []);
  if (items.length === 0) return null;
  return (
    <nav aria-label="Other ways to sign in" class="providers">
      <h2>Or continue with</h2>
      <ul>
        {items.map((p) => (
          <li>
            <a
              class="button"
              href={`/api/v1/auth/oidc/${encodeURIComponent(p.name)}/start?redirectTo=${encodeURIComponent(redirectTo)}`}
            >
              Continue with {p.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
