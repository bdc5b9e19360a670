// A file's share links: create one with an expiry and an optional access limit, see how
// often each was used, revoke. The link handed out is the app's /shared/<id> page, which
// reads the API's public share endpoint.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api } from "../../app/store";
import { ErrorText, Field, Form, formatDate, Select, useAction } from "../../app/ui";

type Share = components["schemas"]["Share"];
type FileView = components["schemas"]["FileView"];

export function shareLink(linkId: string): string {
  return `${location.origin}/shared/${encodeURIComponent(linkId)}`;
}

export function Shares({ file }: { file: FileView }) {
  const [shares, setShares] = useState<Share[]>([]);
  const [expiry, setExpiry] = useState("86400");
  const [limit, setLimit] = useState("");

  const load = async () => {
    const { data } = await api.GET("/api/v1/files/{id}/shares", { params: { path: { id: file.id } } });
    if (data) setShares(data.items);
  };
  useEffect(() => void load(), [file.id]);

  const [create, creating, error] = useAction(async () => {
    const { data, error: problem } = await api.POST("/api/v1/files/{id}/share", {
      params: { path: { id: file.id } },
      body: { expiresInSeconds: Number(expiry), maxAccessCount: limit ? Number(limit) : null },
    });
    if (!data) throw new Error(problem?.detail ?? "Could not create the link.");
    await load();
  });
  const [revoke, , revokeError] = useAction(async (share: Share) => {
    await api.DELETE("/api/v1/share/{linkId}", { params: { path: { linkId: share.linkId } } });
    await load();
  });

  return (
    <div role="group" aria-label={`Share links of ${file.fileName}`}>
      <Form onSubmit={create} label={`New share link for ${file.fileName}`}>
        <div class="row">
          <Select
            label="Expires after"
            value={expiry}
            onChange={(e) => setExpiry(e.currentTarget.value)}
            options={[
              ["3600", "1 hour"],
              ["86400", "1 day"],
              ["604800", "7 days"],
            ]}
          />
          <Field
            label="Maximum downloads"
            type="number"
            min={1}
            placeholder="No limit"
            value={limit}
            onInput={(e) => setLimit(e.currentTarget.value)}
          />
          <button type="submit" disabled={creating}>
            Create share link
          </button>
        </div>
      </Form>
      <ErrorText error={error ?? revokeError} />
      {shares.length === 0 ? (
        <p>No share links.</p>
      ) : (
        <ul class="list" aria-label="Share links">
          {shares.map((s) => (
            <li key={s.linkId}>
              <span>
                <a href={shareLink(s.linkId)} target="_blank" rel="noreferrer">
                  {shareLink(s.linkId)}
                </a>
                <br />
                <span class="meta">
                  Used {s.accessCount}
                  {s.maxAccessCount ? ` of ${s.maxAccessCount}` : ""} times · {s.expired ? "expired" : `expires ${formatDate(s.expiresAt)}`}
                </span>
              </span>
              <button type="button" class="danger" onClick={() => revoke(s)}>
                Revoke link
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
