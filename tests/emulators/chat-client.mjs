// Two chat clients on the official @azure/web-pubsub-client, against the API and its realtime
// hub: `node chat-client.mjs <apiBase> <tokenA> <tokenB> <conversationId> <forbiddenGroup>`.
// A uses the package's default (reliable) protocol, B the plain JSON one. Prints a JSON
// summary of what each saw; exits non-zero if something never arrived.
import { WebPubSubClient, WebPubSubJsonProtocol } from "@azure/web-pubsub-client";

const [api, tokenA, tokenB, conversationId, forbiddenGroup] = process.argv.slice(2);
const headers = (token) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

async function negotiate(token) {
  const response = await fetch(`${api}/api/v1/realtime/negotiate`, { headers: headers(token) });
  if (!response.ok) throw new Error(`negotiate: ${response.status}`);
  return (await response.json()).url;
}

const seen = { a: [], b: [] };
const a = new WebPubSubClient({ getClientAccessUrl: () => negotiate(tokenA) });
const b = new WebPubSubClient(
  { getClientAccessUrl: () => negotiate(tokenB) },
  { protocol: WebPubSubJsonProtocol() },
);
a.on("server-message", (e) => seen.a.push(e.message.data));
b.on("server-message", (e) => seen.b.push(e.message.data));

async function until(what, probe, ms = 10000) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    const found = probe();
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const timer = setTimeout(() => {
  console.error("chat-client: overall timeout");
  process.exit(2);
}, 30000);

await a.start();
await b.start();
// A hears B's arrival (once: presence goes to each contact's own group), never its own.
const presence = await until("B's arrival at A", () => {
  const online = seen.a.filter((d) => d.type === "presence" && d.data.online === true);
  return online.length >= 1 && online.map((d) => d.data.userId);
});
// Nothing more arrives for the same change.
await new Promise((r) => setTimeout(r, 200));
presence.splice(0, presence.length, ...seen.a.filter((d) => d.type === "presence" && d.data.online === true).map((d) => d.data.userId));

// A posts over REST; B hears of it through the hub.
const posted = await fetch(`${api}/api/v1/conversations/${conversationId}/messages`, {
  method: "POST",
  headers: headers(tokenA),
  body: JSON.stringify({ clientMessageId: "rest-1", text: "over REST" }),
});
const restStatus = posted.status;
const overRest = await until("message.new from REST", () =>
  seen.b.find((d) => d.type === "message.new" && d.data.text === "over REST"),
);

// A sends through the hub as a user event: A gets the function's reply, B the broadcast.
await a.sendEvent(
  "message",
  { type: "message.send", conversationId, clientMessageId: "hub-1", text: "over the hub" },
  "json",
);
const reply = await until("the event's reply", () => seen.a.find((d) => d.type === "message.sent"));
const overHub = await until("message.new from the hub", () =>
  seen.b.find((d) => d.type === "message.new" && d.data.text === "over the hub"),
);

// Rights: joining a group is refused (membership is the server's; see realtime-rights.mjs).
let refused = null;
try {
  await b.joinGroup(forbiddenGroup);
} catch (e) {
  refused = e.errorDetail?.name ?? String(e);
}

clearTimeout(timer);
a.stop();
b.stop();
console.log(
  JSON.stringify({ presence, restStatus, overRest, reply, overHub, refused }),
);
process.exit(0);
