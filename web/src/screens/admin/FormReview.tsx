// One submission: its fields, its status and assignee (each change audited by the API),
// and the audit trail of who changed what.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link } from "../../app/router";
import { api } from "../../app/store";
import { ErrorText, Field, Form, formatDate, Select, Status, useAction } from "../../app/ui";
import { AdminNav } from "./AdminNav";
import { STATUSES } from "./Forms";

type Submission = components["schemas"]["Submission"];
type AuditEntry = components["schemas"]["AuditEntry"];

function show(value: unknown): string {
  if (Array.isArray(value)) return value.join(", ");
  if (value && typeof value === "object" && "to" in value) {
    const change = value as { from?: unknown; to?: unknown };
    return `${show(change.from ?? "none")} → ${show(change.to ?? "none")}`;
  }
  if (value && typeof value === "object") return JSON.stringify(value);
  return String(value ?? "");
}

export function FormReview({ id }: { id: string }) {
  const [form, setForm] = useState<Submission | null>(null);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [status, setStatus] = useState("pending");
  const [assignee, setAssignee] = useState("");
  const [saved, setSaved] = useState(false);

  const load = async () => {
    const [one, trail] = await Promise.all([
      api.GET("/api/v1/forms/{id}", { params: { path: { id } } }),
      api.GET("/api/v1/forms/{id}/audit", { params: { path: { id } } }),
    ]);
    if (one.data) {
      setForm(one.data);
      setStatus(one.data.status);
      setAssignee(one.data.assignedTo ?? "");
    }
    setAudit(trail.data?.items ?? []);
  };
  useEffect(() => void load(), [id]);

  const [save, saving, error] = useAction(async () => {
    setSaved(false);
    const { data, error: problem } = await api.PATCH("/api/v1/forms/{id}", {
      params: { path: { id } },
      body: { status, assignedTo: assignee.trim() || null },
    });
    if (!data) throw new Error(problem?.detail ?? "Could not save the review.");
    setSaved(true);
    await load();
  });

  if (!form) return <p role="status">Loading the submission…</p>;
  return (
    <section>
      <h1>
        {form.type} form from {form.name}
      </h1>
      <AdminNav />
      <p>
        <Link href="/admin/forms">All forms</Link>
      </p>
      <dl>
        <dt>Email</dt>
        <dd>{form.email}</dd>
        <dt>Received</dt>
        <dd>{formatDate(form.createdAt)}</dd>
        {Object.entries(form.fields as Record<string, unknown>).map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{show(v)}</dd>
          </>
        ))}
      </dl>
      <Form onSubmit={save} label="Review">
        <div class="row">
          <Select label="Review status" value={status} options={STATUSES} onChange={(e) => setStatus(e.currentTarget.value)} />
          <Field label="Assigned to" value={assignee} placeholder="User id" onInput={(e) => setAssignee(e.currentTarget.value)} />
          <button type="submit" disabled={saving}>
            Save review
          </button>
        </div>
      </Form>
      {saved && <Status>The review is saved.</Status>}
      <ErrorText error={error} />
      <h2>Audit trail</h2>
      {audit.length === 0 ? (
        <p>No changes yet.</p>
      ) : (
        <ol aria-label="Audit trail">
          {audit.map((a) => (
            <li key={a.id}>
              {formatDate(a.at)} · {a.actor}:{" "}
              {Object.entries(a.changes as Record<string, unknown>)
                .map(([k, v]) => `${k}: ${show(v)}`)
                .join("; ")}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
