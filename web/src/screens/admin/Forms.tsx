// Submitted forms for review: filter by type and status, download the filtered list as
// CSV, open one to change its status and see its audit trail.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { Link } from "../../app/router";
import { download } from "../../app/download";
import { api } from "../../app/store";
import { ErrorText, formatDate, Select, useAction } from "../../app/ui";
import { AdminNav } from "./AdminNav";

type Submission = components["schemas"]["Submission"];
type FormType = components["schemas"]["FormType"];
type FormStatus = components["schemas"]["FormStatus"];

export const STATUSES: [string, string][] = [
  ["pending", "Pending"],
  ["reviewed", "Reviewed"],
  ["resolved", "Resolved"],
];
const TYPES: [string, string][] = [
  ["", "All types"],
  ["contact", "Contact"],
  ["interest", "Interest"],
  ["referral", "Referral"],
];

export function Forms() {
  const [type, setType] = useState("");
  const [status, setStatus] = useState("");
  const [items, setItems] = useState<Submission[] | null>(null);
  useEffect(() => {
    api
      .GET("/api/v1/forms", {
        params: { query: { type: (type || undefined) as FormType | undefined, status: (status || undefined) as FormStatus | undefined, limit: 100 } },
      })
      .then(({ data }) => setItems(data?.items ?? []));
  }, [type, status]);
  const [csv, exporting, error] = useAction(async () => {
    const qs = type ? `?type=${encodeURIComponent(type)}` : "";
    await download(`/api/v1/forms/export.csv${qs}`, `forms${type ? `-${type}` : ""}.csv`);
  });
  return (
    <section>
      <h1>Forms</h1>
      <AdminNav />
      <div class="row">
        <Select label="Type" value={type} options={TYPES} onChange={(e) => setType(e.currentTarget.value)} />
        <Select label="Status" value={status} options={[["", "All statuses"], ...STATUSES]} onChange={(e) => setStatus(e.currentTarget.value)} />
        <button type="button" class="secondary" onClick={csv} disabled={exporting}>
          Download CSV
        </button>
      </div>
      <ErrorText error={error} />
      {items?.length === 0 && <p role="status">No submissions.</p>}
      {items && items.length > 0 && (
        <table>
          <caption class="sr-only">Submissions</caption>
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Received</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link href={`/admin/forms/${encodeURIComponent(s.id)}`}>{`${s.name} (${s.email})`}</Link>
                </td>
                <td>{s.type}</td>
                <td>{s.status}</td>
                <td>{formatDate(s.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
