// Realtime rights on the server, seen through the official @azure/web-pubsub-client (default,
// reliable protocol) against the local hub:
// `node realtime-rights.mjs <apiBase> <tokenA> <tokenB> <tokenC> <tokenD> <rootToken>
//   <conversationId> <idA> <idB> <idD>`.
// A is the group's admin; B, C and D are members. B tries to join and to send to the group
// itself, then is removed; C logs out; root suspends D. Prints a JSON summary of what each saw;
// exits non-zero if something that must arrive never did.
import { WebPubSubClient } from "@azure/web-pubsub-client";

const [api, tokenA, tokenB, tokenC, tokenD, rootToken, conversationId, idA, idB, idD] =
  process.argv.slice(2);
const headers = (token) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
const group = `conv:${conversationId}`;

async function negotiate(token) {
  const response = await fetch(`${api}/api/v1/realtime/negotiate`, { headers: headers(token) });
  if (!response.ok) throw new Error(`negotiate: ${response.status}`);
  return (await response.json()).url;
}

function client(token) {
  const seen = { server: [], group: [], disconnected: [] };
  const c = new WebPubSubClient({ getClientAccessUrl: () => negotiate(token) });
  c.on("server-message", (e) => seen.server.push(e.message.data));
  c.on("group-message", (e) => seen.group.push(e.message.data));
  c.on("disconnected", (e) => seen.disconnected.push(e.message ?? "disconnected"));
  return { c, seen };
}

async function until(what, probe, ms = 10000) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    const found = probe();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const texts = (who) => who.seen.server.filter((d) => d.type === "message.new").map((d) => d.data.text);

async function post(text) {
  const response = await fetch(`${api}/api/v1/conversations/${conversationId}/messages`, {
    method: "POST",
    headers: headers(tokenA),
    body: JSON.stringify({ clientMessageId: text, text }),
  });
  if (response.status !== 201) throw new Error(`post ${text}: ${response.status}`);
}

async function refusal(attempt) {
  try {
    await attempt();
    return "accepted";
  } catch (e) {
    return e.errorDetail?.name ?? String(e);
  }
}

const timer = setTimeout(() => {
  console.error("realtime-rights: overall timeout");
  process.exit(2);
}, 45000);

const [b, c, d] = [client(tokenB), client(tokenC), client(tokenD)];
for (const who of [b, c, d]) await who.c.start();

// Members hear their conversation without joining anything: connect put them in its group.
await post("first");
for (const who of [b, c, d]) await until("first at every member", () => texts(who).includes("first"));

// A client has no right to join or send to a group, its own conversation's included.
const joinRefused = await refusal(() => b.c.joinGroup(group));
const forged = { type: "message.new", data: { conversationId, senderId: idA, text: "forged" } };
const sendRefused = await refusal(() => b.c.sendToGroup(group, forged, "json"));

// Removed: B's open connection stops getting the conversation at once.
const removed = await fetch(`${api}/api/v1/conversations/${conversationId}/participants/${idB}`, {
  method: "DELETE",
  headers: headers(tokenA),
});
const removedStatus = removed.status;
const toldOfRemoval = await until("participant.removed at B", () =>
  b.seen.server.find((x) => x.type === "participant.removed" && x.data.userId === idB),
);
await post("second");
await until("second at C and D", () => texts(c).includes("second") && texts(d).includes("second"));

// Logged out: C's connection is closed. Suspended: D's is.
const logout = await fetch(`${api}/api/v1/auth/logout`, { method: "POST", headers: headers(tokenC) });
const logoutStatus = logout.status;
const cClosed = await until("C disconnected", () => c.seen.disconnected[0]);
const suspend = await fetch(`${api}/api/v1/users/${idD}`, {
  method: "PATCH",
  headers: headers(rootToken),
  body: JSON.stringify({ status: "suspended" }),
});
const suspendStatus = suspend.status;
const dClosed = await until("D disconnected", () => d.seen.disconnected[0]);

// Time for the clients' own reconnection attempts, then one more message nobody closed may get.
await pause(1500);
await post("third");
await pause(700);

clearTimeout(timer);
for (const who of [b, c, d]) who.c.stop();
console.log(
  JSON.stringify({
    joinRefused,
    sendRefused,
    removedStatus,
    toldOfRemoval,
    logoutStatus,
    cClosed,
    suspendStatus,
    dClosed,
    b: texts(b),
    c: texts(c),
    d: texts(d),
    groupMessages: [...b.seen.group, ...c.seen.group, ...d.seen.group],
  }),
);
process.exit(0);
