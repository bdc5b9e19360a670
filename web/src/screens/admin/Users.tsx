// Users: search by name or email, change a role or a status (each change saved at once and
// audited by the API), invite someone by email.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api, currentUser } from "../../app/store";
import { ErrorText, Field, Form, formatDate, Select, Status, useAction } from "../../app/ui";
import { AdminNav } from "./AdminNav";

type User = components["schemas"]["User"];

const ROLES: [string, string][] = [
  ["user", "User"],
  ["mentor", "Mentor"],
  ["admin", "Admin"],
];
const STATUSES: [string, string][] = [
  ["active", "Active"],
  ["suspended", "Suspended"],
];

export function Users() {
  const [search, setSearch] = useState("");
  const [users, setUsers] = useState<User[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [note, setNote] = useState("");

  const load = async (after?: string) => {
    const { data } = await api.GET("/api/v1/users", { params: { query: { search: search.trim() || undefined, cursor: after, limit: 50 } } });
    if (!data) return;
    setUsers((now) => (after ? [...now, ...data.items] : data.items));
    setCursor(data.nextCursor ?? null);
  };
  useEffect(() => void load(), []);

  const [change, , error] = useAction(async (u: User, patch: { role?: string; status?: string }) => {
    setNote("");
    const { data, error: problem } = await api.PATCH("/api/v1/users/{id}", { params: { path: { id: u.id } }, body: patch });
    if (!data) throw new Error(problem?.detail ?? "Could not change the user.");
    setUsers((now) => now.map((x) => (x.id === u.id ? data : x)));
    setNote(`${data.name} is now ${data.role}, ${data.status}.`);
  });

  const me = currentUser()?.id;
  return (
    <section>
      <h1>Users</h1>
      <AdminNav />
      <Form onSubmit={() => load()} label="Find users">
        <div class="row">
          <Field label="Search users" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          <button type="submit">Search</button>
        </div>
      </Form>
      {note && <Status>{note}</Status>}
      <ErrorText error={error} />
      <table>
        <caption class="sr-only">Users</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Last sign-in</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td>{u.name}</td>
              <td>{u.email}</td>
              <td>
                <Select label={`Role of ${u.name}`} value={u.role} options={ROLES} disabled={u.id === me} onChange={(e) => change(u, { role: e.currentTarget.value })} />
              </td>
              <td>
                {u.status === "active" || u.status === "suspended" ? (
                  <Select label={`Status of ${u.name}`} value={u.status} options={STATUSES} disabled={u.id === me} onChange={(e) => change(u, { status: e.currentTarget.value })} />
                ) : (
                  u.status
                )}
              </td>
              <td>{formatDate(u.lastLoginAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" class="secondary" onClick={() => load(cursor)}>
          Show more users
        </button>
      )}
      <Invite />
    </section>
  );
}

function Invite() {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("user");
  const [sent, setSent] = useState("");
  const [submit, busy, error] = useAction(async () => {
    const { data, error: problem } = await api.POST("/api/v1/auth/invites", { body: { email, role } });
    if (!data) throw new Error(problem?.detail ?? "Could not send the invite.");
    setSent(`Invite sent to ${email}; it expires ${formatDate(data.expiresAt)}.`);
    setEmail("");
  });
  return (
    <>
      <h2>Invite someone</h2>
      <Form onSubmit={submit} label="Invite">
        <div class="row">
          <Field label="Email to invite" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          <Select label="Invited role" value={role} options={ROLES} onChange={(e) => setRole(e.currentTarget.value)} />
          <button type="submit" disabled={busy}>
            Send invite
          </button>
        </div>
      </Form>
      {sent && <Status>{sent}</Status>}
      <ErrorText error={error} />
    </>
  );
}
