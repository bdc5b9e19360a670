// People in realtime, with the official @azure/web-pubsub-client against the handler's local
// hub: a user hears `notification.new` when added to a group, and one `presence` event per
// change of someone they share conversations with (not one per shared conversation).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Realtime, Session } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";
import { PASSWORD, email, until } from "./helpers.js";

interface Presence {
  userId: string;
  online: boolean;
  lastSeenAt: string | null;
}
interface NotificationEvent {
  id: string;
  kind: string;
  data: { conversationId?: string; addedBy?: string };
}

let handler: RunningHandler;
let alice: Session;
let bob: Session;
const realtimes: Realtime[] = [];

before(async () => {
  handler = await startHandler();
  alice = new Session({ baseUrl: handler.baseUrl });
  bob = new Session({ baseUrl: handler.baseUrl });
  await alice.signUp({ email: email("alice"), password: PASSWORD, name: "Alice" });
  await bob.signUp({ email: email("bob"), password: PASSWORD, name: "Bob" });
});
after(async () => {
  for (const r of realtimes) r.stop();
  await handler?.stop();
});

function connect(session: Session): Realtime {
  const realtime = new Realtime(session.api);
  realtimes.push(realtime);
  return realtime;
}

/** Resolves once the client has its `connected` frame (start() resolves at socket open). */
function connected(realtime: Realtime): Promise<void> {
  return new Promise((resolve) => realtime.client.on("connected", () => resolve()));
}

test("being added to a group arrives as notification.new", async () => {
  const realtime = connect(bob);
  const heard: NotificationEvent[] = [];
  realtime.on<NotificationEvent>("notification.new", (n) => heard.push(n));
  const ready = connected(realtime);
  await realtime.start();
  await ready;

  const created = await alice.api.POST("/api/v1/conversations", {
    body: { type: "group", name: "Study group", participantIds: [bob.user!.id] },
  });
  assert.equal(created.response.status, 201);
  const got = await until("notification.new at Bob", () =>
    heard.find((n) => n.kind === "conversation.added"),
  );
  assert.equal(got.data.conversationId, created.data!.id);
  assert.equal(got.data.addedBy, alice.user!.id);
  // The same notification is in the list.
  const listed = await bob.api.GET("/api/v1/notifications");
  assert.ok(listed.data!.items.some((n) => n.id === got.id));
  realtime.stop();
});

test("a presence change arrives once, however many conversations are shared", async () => {
  // A second shared conversation: presence must still come once per change.
  const direct = await alice.api.POST("/api/v1/conversations", {
    body: { type: "direct", participantIds: [bob.user!.id] },
  });
  assert.ok(direct.response.ok);
  const watcher = connect(bob);
  const changes: Presence[] = [];
  watcher.on<Presence>("presence", (p) => {
    if (p.userId === alice.user!.id) changes.push(p);
  });
  const watching = connected(watcher);
  await watcher.start();
  await watching;

  const comer = connect(alice);
  const arrived = connected(comer);
  await comer.start();
  await arrived;
  await until("Alice online at Bob", () => changes.find((p) => p.online));
  comer.stop();
  const left = await until("Alice offline at Bob", () => changes.find((p) => !p.online));
  assert.ok(left.lastSeenAt, "the last connection's close is when she was last seen");
  // Let anything duplicated arrive, then count.
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    changes.map((p) => p.online),
    [true, false],
  );
  const snapshot = await bob.api.GET("/api/v1/presence", {
    params: { query: { userIds: alice.user!.id } },
  });
  assert.equal(snapshot.data!.items[0].online, false);
  watcher.stop();
});
