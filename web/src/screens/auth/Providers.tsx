// The OpenID providers the API is configured with, each a plain link: the provider's pages
// need a full navigation, not a fetch.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api } from "../../app/store";

type Provider = components["schemas"]["SignInProvider"];

export function Providers({ redirectTo }: { redirectTo: string }) {
  const [items, setItems] = useState<Provider[]>([]);
  useEffect(() => {
    api
      .GET("/api/v1/auth/providers")
      .then(({ data }) => setItems(data?.items ?? []))
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
