// The realtime channel of the signed-in user, shared by every screen: started on sign-in,
// stopped on sign-out. Screens subscribe to event types (`message.new`, `typing.start`,
// `read.receipt`, `presence`, `notification.new`) through `useEvent`.
import { Realtime } from "@portal-api/client";
import { useEffect, useState } from "preact/hooks";
import { api, session, useSession } from "./store";

let realtime: Realtime | null = null;
let owner: string | null = null;
const handlers = new Map<string, Set<(data: never) => void>>();
const unsubscribers = new Map<string, () => void>();

/** Starts (or stops) the channel to match who is signed in. */
export function syncRealtime(userId: string | null): void {
  if (userId === owner) return;
  realtime?.stop();
  realtime = null;
  unsubscribers.clear();
  owner = userId;
  if (!userId) return;
  const channel = new Realtime(api);
  realtime = channel;
  for (const type of handlers.keys()) listen(type);
  channel.start().catch(() => {
    // The client retries by itself; a page still works over REST without it.
  });
}

function listen(type: string): void {
  if (!realtime || unsubscribers.has(type)) return;
  unsubscribers.set(
    type,
    realtime.on(type, (data) => {
      for (const h of handlers.get(type) ?? []) h(data as never);
    }),
  );
}

/** Calls `handler` with each event of `type` while the component is mounted. */
export function useEvent<T>(type: string, handler: (data: T) => void, deps: unknown[] = []): void {
  useEffect(() => {
    let set = handlers.get(type);
    if (!set) handlers.set(type, (set = new Set()));
    const h = handler as (data: never) => void;
    set.add(h);
    listen(type);
    return () => void set!.delete(h);
  }, deps);
}

/** Unread notifications, kept current by `notification.new`. */
let unread = 0;
const unreadListeners = new Set<(n: number) => void>();
export function setUnread(n: number): void {
  unread = n;
  for (const l of unreadListeners) l(n);
}

export function useUnread(): number {
  const { user } = useSession();
  const [n, setN] = useState(unread);
  useEffect(() => {
    syncRealtime(user?.id ?? null);
    unreadListeners.add(setN);
    if (user && session.signedIn) {
      api
        .GET("/api/v1/notifications/unread-count")
        .then(({ data }) => data && setUnread(data.count))
        .catch(() => undefined);
    }
    return () => void unreadListeners.delete(setN);
  }, [user?.id]);
  useEvent("notification.new", () => setUnread(unread + 1));
  return n;
}
