// The OpenID providers linked to the account (made when the user first signed in with one):
// each with the address it gave and when, and unlinkable unless it is the last way to sign in
// (no password and no other provider: the API refuses with LAST_SIGN_IN_METHOD).
import { ApiError, type components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api } from "../../app/store";
import { ErrorText, formatDate, Status, useAction } from "../../app/ui";

type Identity = components["schemas"]["IdentityView"];

export function Identities() {
  const [items, setItems] = useState<Identity[] | null>(null);
  const [note, setNote] = useState("");
  const load = async () => {
    const { data } = await api.GET("/api/v1/users/me/identities");
    setItems(data?.items ?? []);
  };
  useEffect(() => void load(), []);
  const [unlink, , error] = useAction(async (identity: Identity) => {
    setNote("");
    const { response, error: problem } = await api.DELETE("/api/v1/users/me/identities/{name}", {
      params: { path: { name: identity.provider } },
    });
    if (response.status === 409 && problem?.code === "LAST_SIGN_IN_METHOD") {
      throw new Error(
        `${identity.label} is the only way you can sign in, so it cannot be unlinked. Set a password first (“Forgot your password?” on the sign-in page emails you a link), then unlink it.`,
      );
    }
    if (!response.ok && response.status !== 404) throw new ApiError(response.status, problem, "unlink");
    setNote(`${identity.label} is no longer linked to your account.`);
    await load();
  });
  return (
    <>
      <h2>Sign-in providers</h2>
      {items?.length === 0 && <p>No sign-in provider is linked to your account.</p>}
      {items && items.length > 0 && (
        <ul class="list" aria-label="Linked sign-in providers">
          {items.map((i) => (
            <li key={i.provider}>
              <span>
                <strong>{i.label}</strong>
                {i.email && <> · {i.email}</>} · linked {formatDate(i.linkedAt)}
              </span>
              <button type="button" class="secondary" aria-label={`Unlink ${i.label}`} onClick={() => unlink(i)}>
                Unlink
              </button>
            </li>
          ))}
        </ul>
      )}
      <ErrorText error={error} />
      {note && <Status>{note}</Status>}
    </>
  );
}
