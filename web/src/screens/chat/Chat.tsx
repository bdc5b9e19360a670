// Chat: the conversation list (names, avatars, unread counts, presence) beside the open
// thread. The list follows realtime: new messages move a conversation up and count as
// unread unless it is open; presence events update the dots.
import type { components } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { useEvent } from "../../app/live";
import { Link } from "../../app/router";
import { api, currentUser } from "../../app/store";
import { Avatar } from "../../app/ui";
import { Presence } from "./Presence";
import { Thread } from "./Thread";

type Conversation = components["schemas"]["Conversation"];
type Message = components["schemas"]["Message"];

/** What a conversation is called for this user: the other person, or the group's name. */
export function title(c: Conversation): string {
  if (c.type === "direct") {
    const me = currentUser()?.id;
    return c.peer?.name ?? c.participants.find((p) => p.id !== me)?.name ?? "Direct conversation";
  }
  return c.name ?? c.participants.map((p) => p.name).join(", ");
}

function other(c: Conversation) {
  const me = currentUser()?.id;
  return c.participants.find((p) => p.id !== me);
}

export function Chat({ id }: { id?: string }) {
  const [items, setItems] = useState<Conversation[]>([]);
  const load = async () => {
    const { data } = await api.GET("/api/v1/conversations", { params: { query: { limit: 100 } } });
    if (data) setItems(data.items);
  };
  useEffect(() => void load(), []);

  useEvent<Message>(
    "message.new",
    (m) => {
      setItems((list) => {
        const found = list.find((c) => c.id === m.conversationId);
        if (!found) {
          void load();
          return list;
        }
        const mine = m.senderId === currentUser()?.id;
        const updated: Conversation = {
          ...found,
          lastActivityAt: m.createdAt,
          lastMessage: { id: m.id, preview: m.text ?? "Attachment", senderId: m.senderId, sentAt: m.createdAt },
          unreadCount: mine || m.conversationId === id ? found.unreadCount : found.unreadCount + 1,
        };
        return [updated, ...list.filter((c) => c.id !== m.conversationId)];
      });
    },
    [id],
  );
  useEvent<{ userId: string; online: boolean }>("presence", (p) =>
    setItems((list) =>
      list.map((c) => ({ ...c, participants: c.participants.map((u) => (u.id === p.userId ? { ...u, online: p.online } : u)) })),
    ),
  );
  useEvent("notification.new", () => void load());

  const open = items.find((c) => c.id === id);
  // Opening a conversation clears its unread count here; the thread sends the receipt.
  useEffect(() => {
    if (id) setItems((list) => list.map((c) => (c.id === id ? { ...c, unreadCount: 0 } : c)));
  }, [id]);

  return (
    <section>
      <h1>Chat</h1>
      <div class="chat">
        <nav aria-label="Conversations">
          {items.length === 0 && (
            <p>
              No conversations yet. Find someone in <Link href="/people">People</Link>.
            </p>
          )}
          <ul class="list">
            {items.map((c) => {
              const peer = other(c);
              const name = title(c);
              return (
                <li key={c.id}>
                  <Avatar name={name} url={c.type === "direct" ? (peer?.avatarUrl ?? c.peer?.avatarUrl) : null} />
                  <span>
                    <Link href={`/chat/${encodeURIComponent(c.id)}`} aria-current={c.id === id ? "page" : undefined}>
                      {name}
                    </Link>{" "}
                    {c.unreadCount > 0 && <span class="badge">{c.unreadCount} unread</span>}
                    <br />
                    {c.type === "direct" && peer && <Presence online={peer.online} />}
                    {c.lastMessage && <span class="meta"> · {c.lastMessage.preview}</span>}
                  </span>
                </li>
              );
            })}
          </ul>
        </nav>
        {open ? <Thread conversation={open} key={open.id} /> : id ? <p role="status">Opening the conversation…</p> : <p>Choose a conversation.</p>}
      </div>
    </section>
  );
}
