// Chat archives: the day-parts of a conversation's old messages moved to cold storage, and
// restoring a range of days back into the conversation.
import type { components } from "@portal-api/client";
import { useState } from "preact/hooks";
import { api } from "../../app/store";
import { ErrorText, Field, Form, Status, useAction } from "../../app/ui";
import { AdminNav } from "./AdminNav";

type Part = components["schemas"]["ArchivePart"];

export function Archives() {
  const [conversationId, setConversationId] = useState("");
  const [parts, setParts] = useState<Part[] | null>(null);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [note, setNote] = useState("");

  const [list, listing, listError] = useAction(async () => {
    const { data, error } = await api.GET("/api/v1/admin/archives", { params: { query: { conversationId: conversationId.trim() } } });
    if (!data) throw new Error(error?.detail ?? "Could not list the archives.");
    setParts(data.items);
    if (data.items.length) {
      setFrom(data.items[0].day);
      setTo(data.items[data.items.length - 1].day);
    }
  });
  const [restore, restoring, restoreError] = useAction(async () => {
    const { data, error } = await api.POST("/api/v1/admin/archives/restore", { body: { conversationId: conversationId.trim(), from, to } });
    if (!data) throw new Error(error?.detail ?? "Could not restore.");
    setNote(`Restored ${data.messages} messages from ${data.parts} archive parts.`);
  });

  return (
    <section>
      <h1>Archives</h1>
      <AdminNav />
      <Form onSubmit={list} label="Find archives">
        <div class="row">
          <Field label="Conversation id" required value={conversationId} onInput={(e) => setConversationId(e.currentTarget.value)} />
          <button type="submit" disabled={listing}>
            List archives
          </button>
        </div>
      </Form>
      <ErrorText error={listError} />
      {parts?.length === 0 && <p role="status">This conversation has no archived messages.</p>}
      {parts && parts.length > 0 && (
        <>
          <table>
            <caption class="sr-only">Archive parts</caption>
            <thead>
              <tr>
                <th scope="col">Day</th>
                <th scope="col">Messages</th>
                <th scope="col">Checksum</th>
              </tr>
            </thead>
            <tbody>
              {parts.map((p) => (
                <tr key={p.blob}>
                  <td>{p.day}</td>
                  <td>{p.count}</td>
                  <td>
                    <code>{p.sha256.slice(0, 12)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Form onSubmit={restore} label="Restore">
            <div class="row">
              <Field label="From day" type="date" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
              <Field label="To day" type="date" required value={to} onInput={(e) => setTo(e.currentTarget.value)} />
              <button type="submit" disabled={restoring}>
                Restore messages
              </button>
            </div>
          </Form>
        </>
      )}
      {note && <Status>{note}</Status>}
      <ErrorText error={restoreError} />
    </section>
  );
}
