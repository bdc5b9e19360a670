// One conversation: its messages (older ones load when the top is scrolled into view),
// live arrivals, who is typing, read receipts ("Seen": the conversation's read states when it
// opens, then live `read.receipt` events), and the composer with attachments.
import type { components } from "@portal-api/client";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { useEvent } from "../../app/live";
import { api, currentUser } from "../../app/store";
import { Avatar, formatDate } from "../../app/ui";
import { Attachments } from "./Attachments";
import { Composer } from "./Composer";

type Conversation = components["schemas"]["Conversation"];
type Message = components["schemas"]["Message"];
type Receipt = { conversationId: string; userId: string; messageId: string };
type TypingEvent = { conversationId: string; userId: string };

const PAGE = 30;

export function Thread({ conversation }: { conversation: Conversation }) {
  const me = currentUser()!.id;
  const [messages, setMessages] = useState<Message[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [typing, setTyping] = useState<Set<string>>(new Set());
  const [seen, setSeen] = useState<Record<string, string>>({});
  const list = useRef<HTMLOListElement>(null);
  const top = useRef<HTMLLIElement>(null);
  const stickToBottom = useRef(true);
  const keepOffset = useRef<number | null>(null);

  const names = new Map(conversation.participants.map((p) => [p.id, p]));
  const person = (id: string) => names.get(id) ?? { id, name: "Someone", avatarUrl: null };

  /** Newest first from the API; shown oldest first. `before`: the cursor of older ones. */
  const loadPage = async (before?: string) => {
    setLoading(true);
    try {
      const { data } = await api.GET("/api/v1/conversations/{id}/messages", {
        params: { path: { id: conversation.id }, query: { limit: PAGE, before } },
      });
      if (!data) return;
      const older = [...data.items].reverse();
      if (before && list.current) keepOffset.current = list.current.scrollHeight - list.current.scrollTop;
      setMessages((now) => (before ? [...older, ...now] : older));
      setCursor(data.nextCursor ?? null);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void loadPage(), [conversation.id]);

  // Who has read what so far (so "Seen" survives a reload); live receipts, newer, win.
  useEffect(() => {
    let current = true;
    void api.GET("/api/v1/conversations/{id}", { params: { path: { id: conversation.id } } }).then(({ data }) => {
      if (!current || !data) return;
      const read: Record<string, string> = {};
      for (const r of data.readStates ?? []) {
        if (r.userId !== me && r.lastReadMessageId) read[r.userId] = r.lastReadMessageId;
      }
      setSeen((live) => ({ ...read, ...live }));
    });
    return () => {
      current = false;
    };
  }, [conversation.id]);

  // Older messages above keep what the reader was looking at in place; new ones scroll down
  // only for a reader who was at the bottom.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (keepOffset.current !== null) {
      el.scrollTop = el.scrollHeight - keepOffset.current;
      keepOffset.current = null;
    } else if (stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [messages]);

  // The top of the list coming into view loads the page before it.
  useEffect(() => {
    const sentinel = top.current;
    if (!sentinel || !cursor) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !loading) void loadPage(cursor);
    });
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [cursor, loading]);

  // Reading: the newest message from someone else is acknowledged once shown.
  const newestOther = [...messages].reverse().find((m) => m.senderId !== me);
  useEffect(() => {
    if (!newestOther) return;
    void api.POST("/api/v1/conversations/{id}/read", {
      params: { path: { id: conversation.id } },
      body: { messageId: newestOther.id },
    });
  }, [newestOther?.id]);

  useEvent<Message>(
    "message.new",
    (m) => {
      if (m.conversationId !== conversation.id) return;
      setMessages((now) => (now.some((x) => x.id === m.id) ? now : [...now, m]));
      setTyping((t) => {
        const next = new Set(t);
        next.delete(m.senderId);
        return next;
      });
    },
    [conversation.id],
  );
  const typingTimers = useRef(new Map<string, number>());
  const setTypingOf = (userId: string, on: boolean) => {
    clearTimeout(typingTimers.current.get(userId));
    // A stop can be lost; the server forgets typing after a few seconds, so does this.
    if (on) typingTimers.current.set(userId, window.setTimeout(() => setTypingOf(userId, false), 6000));
    setTyping((t) => {
      const next = new Set(t);
      if (on) next.add(userId);
      else next.delete(userId);
      return next;
    });
  };
  useEvent<TypingEvent>("typing.start", (e) => e.conversationId === conversation.id && e.userId !== me && setTypingOf(e.userId, true), [conversation.id]);
  useEvent<TypingEvent>("typing.stop", (e) => e.conversationId === conversation.id && setTypingOf(e.userId, false), [conversation.id]);
  useEvent<Receipt>(
    "read.receipt",
    (r) => r.conversationId === conversation.id && r.userId !== me && setSeen((s) => ({ ...s, [r.userId]: r.messageId })),
    [conversation.id],
  );

  // "Seen" goes under my newest message once someone read up to it (or past it).
  const index = new Map(messages.map((m, i) => [m.id, i]));
  const myLast = [...messages].reverse().find((m) => m.senderId === me);
  const seenMine =
    myLast && Object.values(seen).some((id) => (index.get(id) ?? -1) >= (index.get(myLast.id) ?? Infinity));

  const typers = [...typing].map((id) => person(id).name);
  return (
    <div class="thread" role="region" aria-label={`Conversation with ${conversation.participants.filter((p) => p.id !== me).map((p) => p.name).join(", ")}`}>
      <ol
        class="messages"
        ref={list}
        aria-label="Messages"
        // Focusable, so the history can be scrolled with the keyboard.
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        <li ref={top} aria-hidden={cursor ? undefined : "true"}>
          {cursor ? (
            <button type="button" class="link" disabled={loading} onClick={() => loadPage(cursor)}>
              Load older messages
            </button>
          ) : messages.length > 0 ? (
            <span class="meta">The conversation starts here.</span>
          ) : null}
        </li>
        {messages.map((m) => {
          const who = person(m.senderId);
          const mine = m.senderId === me;
          return (
            <li key={m.id} class={mine ? "mine" : undefined} aria-label={`${mine ? "You" : who.name}: ${m.text ?? "attachment"}`}>
              <Avatar name={who.name} url={who.avatarUrl} size={32} />
              <div class="bubble">
                <div class="meta">
                  {mine ? "You" : who.name} · {formatDate(m.createdAt)}
                </div>
                {m.deletedAt ? <em>Message deleted</em> : <div>{m.text}</div>}
                {m.attachments.length > 0 && <Attachments items={m.attachments} />}
                {mine && m.id === myLast?.id && seenMine && <div class="meta">Seen</div>}
              </div>
            </li>
          );
        })}
      </ol>
      <p class="meta" role="status" aria-live="polite">
        {typers.length > 0 ? `${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…` : ""}
      </p>
      <Composer
        conversationId={conversation.id}
        onSent={(m) => {
          stickToBottom.current = true;
          setMessages((now) => (now.some((x) => x.id === m.id) ? now : [...now, m]));
        }}
      />
    </div>
  );
}
