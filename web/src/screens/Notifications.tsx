// Notifications: new messages, being added to a conversation, form and course updates.
// New ones arrive live (`notification.new`); opening one marks it read.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { setUnread, useEvent } from "../app/live";
import { navigate } from "../app/router";
import { api } from "../app/store";
import { formatDate } from "../app/ui";

type Notification = components["schemas"]["Notification"];
type Data = { conversationId?: string; courseId?: string; formId?: string; preview?: string; senderName?: string; name?: string; status?: string };

function describe(n: Notification): { text: string; href?: string } {
  const d = n.data as Data;
  switch (n.kind) {
    case "message":
      return { text: `New message${d.senderName ? ` from ${d.senderName}` : ""}${d.preview ? `: ${d.preview}` : ""}`, href: d.conversationId && `/chat/${d.conversationId}` };
    case "conversation.added":
      return { text: `You were added to ${d.name ?? "a conversation"}`, href: d.conversationId && `/chat/${d.conversationId}` };
    case "form.status":
      return { text: `A form you sent is now ${d.status ?? "updated"}` };
    case "course.updated":
      return { text: "A course you follow was updated", href: d.courseId && `/courses/${d.courseId}` };
    case "invite.accepted":
      return { text: `${d.name ?? "Someone"} accepted your invite` };
    default:
      return { text: n.kind };
  }
}

export function Notifications() {
  const [items, setItems] = useState<Notification[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = async (after?: string) => {
    const { data } = await api.GET("/api/v1/notifications", { params: { query: { limit: 30, cursor: after } } });
    if (!data) return;
    setItems((now) => (after ? [...now, ...data.items] : data.items));
    setCursor(data.nextCursor ?? null);
  };
  useEffect(() => void load(), []);
  useEvent<Notification>("notification.new", (n) => setItems((now) => [n, ...now.filter((x) => x.id !== n.id)]));

  const open = async (n: Notification) => {
    if (!n.readAt) {
      await api.POST("/api/v1/notifications/{id}/read", { params: { path: { id: n.id } } });
      setItems((now) => now.map((x) => (x.id === n.id ? { ...x, readAt: new Date().toISOString() } : x)));
      const { data } = await api.GET("/api/v1/notifications/unread-count");
      if (data) setUnread(data.count);
    }
    const href = describe(n).href;
    if (href) navigate(href);
  };
  const readAll = async () => {
    await api.POST("/api/v1/notifications/read-all", {});
    setItems((now) => now.map((x) => ({ ...x, readAt: x.readAt ?? new Date().toISOString() })));
    setUnread(0);
  };

  return (
    <section>
      <h1>Notifications</h1>
      <button type="button" class="secondary" onClick={readAll}>
        Mark all as read
      </button>
      {items.length === 0 ? (
        <p>Nothing new.</p>
      ) : (
        <ul class="list" aria-label="Notifications">
          {items.map((n) => {
            const { text } = describe(n);
            return (
              <li key={n.id}>
                <button type="button" class="link" onClick={() => open(n)}>
                  {n.readAt ? text : <strong>{text}</strong>}
                </button>
                <span class="meta">
                  {formatDate(n.createdAt)}
                  {n.readAt ? "" : " · unread"}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      {cursor && (
        <button type="button" class="secondary" onClick={() => load(cursor)}>
          Show older notifications
        </button>
      )}
    </section>
  );
}
