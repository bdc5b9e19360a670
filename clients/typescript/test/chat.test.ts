// Chat in realtime: a message one user posts over REST reaches the other user's realtime
// client through the handler's local Web PubSub hub; and the realtime helper negotiates a new
// client URL when its connection is lost and cannot be recovered.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AzureLogger, setLogLevel } from "@azure/logger";
import { WebPubSubJsonProtocol } from "@azure/web-pubsub-client";
import { Realtime, Session, type components } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";
import { PASSWORD, email, until } from "./helpers.js";

type Message = components["schemas"]["Message"];

// The client package's own log, kept to explain a failure (its reconnection steps).
const clientLog: string[] = [];
setLogLevel("verbose");
AzureLogger.log = (...args: unknown[]) => {
  clientLog.push(`${new Date().toISOString()} ${args.map(String).join(" ")}`);
  if (clientLog.length > 200) clientLog.shift();
};

let handler: RunningHandler;
let alice: Session;
let bob: Session;
let conversationId: string;
const realtimes: Realtime[] = [];

before(async () => {
  // Info logs, so that a failure shows what the handler did around the restart.
  handler = await startHandler({ settings: { RUST_LOG: process.env.RUST_LOG ?? "info" } });
  alice = new Session({ baseUrl: handler.baseUrl });
  bob = new Session({ baseUrl: handler.baseUrl });
  await alice.signUp({ email: email("alice"), password: PASSWORD, name: "Alice" });
  await bob.signUp({ email: email("bob"), password: PASSWORD, name: "Bob" });
  const created = await alice.api.POST("/api/v1/conversations", {
    body: { type: "direct", participantIds: [bob.user!.id] },
  });
  assert.equal(created.response.status, 201);
  conversationId = created.data!.id;
});
after(async () => {
  for (const r of realtimes) r.stop();
  await handler?.stop();
});

async function send(text: string, clientMessageId: string) {
  const { response, data } = await alice.api.POST("/api/v1/conversations/{id}/messages", {
    params: { path: { id: conversationId } },
    body: { clientMessageId, text },
  });
  assert.equal(response.status, 201);
  return data!;
}

test("a message Alice posts reaches Bob's realtime client", async () => {
  // The package's default (reliable) protocol.
  const realtime = new Realtime(bob.api);
  realtimes.push(realtime);
  const received: Message[] = [];
  realtime.on<Message>("message.new", (m) => received.push(m));
  await realtime.start();
  assert.equal(realtime.negotiations, 1);

  const sent = await send("hello Bob", "m-1");
  const got = await until("message.new at Bob", () => received.find((m) => m.id === sent.id));
  assert.equal(got.text, "hello Bob");
  assert.equal(got.conversationId, conversationId);
  assert.equal(got.senderId, alice.user!.id);
  realtime.stop();
});

test("after a lost connection the client negotiates a new URL and hears messages again", async () => {
  // The plain JSON protocol cannot recover a connection, so a drop means a new URL.
  const realtime = new Realtime(bob.api, { protocol: WebPubSubJsonProtocol() });
  realtimes.push(realtime);
  let connected = 0;
  realtime.client.on("connected", () => (connected += 1));
  const received: Message[] = [];
  realtime.on<Message>("message.new", (m) => received.push(m));
  await realtime.start();
  assert.equal(realtime.negotiations, 1);
  // start() resolves when the socket opens, before the hub's `connected` frame is read: wait
  // for it, or a restart that came first would leave this connection uncounted.
  await until("the first connection", () => connected >= 1);

  // The handler goes away, the client notices and tries for a new URL while there is none,
  // and the handler comes back on the same port and data (a redeploy).
  await handler.restart(() => until("a negotiation while the API is down", () => realtime.negotiations >= 2));
  await until("reconnected", () => connected >= 2, 30000).catch((e: Error) => {
    // The client's own state (Connecting, Connected, Disconnected...), read for the message only.
    const clientState = (realtime.client as unknown as { _state?: string })._state;
    const state = `${realtime.negotiations} negotiations, ${connected} connections, client ${clientState}`;
    const client = clientLog.slice(-60).join("\n");
    throw new Error(
      `${e.message} (${state});\nthe client said:\n${client}\nthe handler said:\n${handler.logs().slice(-4000)}`,
    );
  });
  assert.ok(realtime.negotiations >= 2, `negotiated again (${realtime.negotiations})`);

  const sent = await send("are you still there?", "m-2");
  const got = await until("message.new after reconnecting", () => received.find((m) => m.id === sent.id));
  assert.equal(got.text, "are you still there?");

  // stop() and start() again: a fresh URL each time.
  const stopped = new Promise<void>((done) => realtime.client.on("stopped", () => done()));
  realtime.stop();
  await stopped;
  const before = realtime.negotiations;
  await realtime.start();
  assert.equal(realtime.negotiations, before + 1);
  realtime.stop();
});
