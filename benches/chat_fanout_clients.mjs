// Chat fan-out as a frontend fleet sees it: 100 official `@azure/web-pubsub-client` clients in
// one Node process, all members of one group conversation on the release handler (embedded
// defaults, local hub), messages posted over REST with a fixed number in flight. Reports the
// delivery latency from the start of each POST to the `message.new` frame at each client
// (p50, p99, max), the messages lost (must be 0) and the messages per second end to end.
//
// A message is in flight from the start of its POST until every client has it: the senders
// start the next one when the receivers report a message complete. Counting only until the
// POST's answer lets the senders outrun this one thread that stands for 100 browsers (each
// with a CPU of its own in a real fleet): a queue builds in front of it, and the p99 then
// grows with the length of the run (95 ms over 500 messages, 130 ms over 6,000, the thread
// 94% busy) rather than tell the latency.
// A message that no client reports within 10 s frees its place and counts as lost.
// WINDOW=post counts a message in flight only until its POST is answered, for comparison.
//
// The senders run in a worker thread with node:http keep-alive connections: they stand for
// other people's browsers, and `fetch` costs the Node thread about 1.5 ms of CPU a request,
// which on the receivers' thread would measure the load generator rather than the fan-out.
// Each message's text carries the time its POST started.
//
//     cargo build --release --bin handler
//     (cd clients/typescript && npm ci && npm run build)
//     node benches/chat_fanout_clients.mjs
//     CLIENTS=200 MESSAGES=5000 IN_FLIGHT=20 WARMUP=500 node benches/chat_fanout_clients.mjs
//
// PORTAL_HANDLER names another binary (default target/release/handler). Exits 1 when a
// message is lost. `cargo bench --bench chat_fanout` is the same load from raw sockets.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { join } from "node:path";
import {
  Realtime,
  Session,
  WebPubSubJsonProtocol,
  WebPubSubJsonReliableProtocol,
} from "../clients/typescript/dist/src/index.js";
import { repoRoot, startHandler } from "../clients/typescript/dist/tools/handler.mjs";

const number = (name, fallback) => Number(process.env[name] ?? fallback);
/** Milliseconds on a clock that the worker and the main thread share. */
const clock = () => performance.timeOrigin + performance.now();

/** How long a sender waits for its message to reach every client before it counts it lost. */
const DELIVERY_TIMEOUT_MS = 10_000;

if (!isMainThread) {
  await send(workerData);
  parentPort.postMessage("done");
  process.exit(0);
}

/**
 * The senders: `inFlight` loops posting messages `first` to `first + count - 1` in turns of
 * the given tokens, each loop waiting until the main thread reports its message delivered to
 * every client.
 */
async function send({ baseUrl, conversationId, tokens, first, count, inFlight, untilDelivered }) {
  const delivered = new Map();
  parentPort.on("message", (n) => delivered.get(n)?.());
  const deliveryOf = (n) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, DELIVERY_TIMEOUT_MS);
      delivered.set(n, () => {
        clearTimeout(timer);
        resolve();
      });
    }).finally(() => delivered.delete(n));
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const url = new URL(`/api/v1/conversations/${conversationId}/messages`, baseUrl);
  const post = (token, body) =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = request(
        url,
        {
          method: "POST",
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 201 ? resolve() : reject(new Error(`send: ${res.statusCode}`))));
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  let next = first;
  const loop = async () => {
    while (next < first + count) {
      const n = next++;
      const arrived = deliveryOf(n);
      await post(tokens[n % tokens.length], { clientMessageId: `fanout-${n}`, text: `${clock()}` });
      if (untilDelivered) await arrived;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
}
/** CPU seconds a process has used so far (Linux /proc; clock ticks of 1/100 s). */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const CLIENTS = number("CLIENTS", 100);
const MESSAGES = number("MESSAGES", 2000);
// Sent and delivered before the measured messages, so that V8 has compiled the clients' hot
// paths and the handler's caches hold the senders: a steady state, as a running fleet is in.
const WARMUP = number("WARMUP", 200);
const IN_FLIGHT = number("IN_FLIGHT", 10);
// The package's default is the reliable protocol; PROTOCOL=json for the plain one.
const PROTOCOL = process.env.PROTOCOL === "json" ? WebPubSubJsonProtocol : WebPubSubJsonReliableProtocol;
const POST_WINDOW = process.env.WINDOW === "post";
process.env.PORTAL_HANDLER ??= join(repoRoot, "target", "release", "handler");

const handler = await startHandler({
  settings: {
    // Sign-ups are set-up here, not what is measured.
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_ITERATIONS: "1",
    RATE_LIMIT_GENERAL_PER_MINUTE: "10000000",
    RATE_LIMIT_AUTH_PER_MINUTE: "10000000",
  },
});
const realtimes = [];
try {
  const people = [];
  for (let n = 0; n < CLIENTS; n++) {
    const session = new Session({ baseUrl: handler.baseUrl });
    await session.signUp({
      email: `member${n}@fanout.example`,
      password: "correct horse battery staple",
      name: `Member ${n}`,
    });
    people.push(session);
  }
  const created = await people[0].api.POST("/api/v1/conversations", {
    body: { type: "group", name: "fan-out", participantIds: people.slice(1).map((p) => p.user.id) },
  });
  if (created.response.status !== 201) throw new Error(`create: ${created.response.status}`);
  const conversationId = created.data.id;

  // The senders' tokens: sign-ins of their own, beside the receivers' sessions.
  const tokens = [];
  for (let n = 0; n < Math.min(10, CLIENTS); n++) {
    const response = await fetch(`${handler.baseUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `member${n}@fanout.example`, password: "correct horse battery staple" }),
    });
    if (response.status !== 200) throw new Error(`login: ${response.status}`);
    tokens.push((await response.json()).accessToken);
  }
  const latencies = [];
  let delivered = 0;
  let lastArrival = 0;
  // Clients that have each message so far, by its number; the sender hears when all have it.
  const arrivals = new Map();
  let sender;
  for (const person of people) {
    const realtime = new Realtime(person.api, { protocol: PROTOCOL() });
    realtime.on("message.new", (message) => {
      if (!message.clientMessageId.startsWith("fanout-")) return;
      const now = clock();
      const n = Number(message.clientMessageId.slice("fanout-".length));
      if (n >= WARMUP) {
        latencies.push(now - Number(message.text));
        delivered += 1;
        lastArrival = now;
      }
      const count = (arrivals.get(n) ?? 0) + 1;
      if (count < CLIENTS) {
        arrivals.set(n, count);
      } else {
        arrivals.delete(n);
        sender.postMessage(n);
      }
    });
    realtimes.push(realtime);
  }
  await Promise.all(realtimes.map((r) => r.start()));

  // Senders take turns, IN_FLIGHT posts at a time, in their own thread.
  const sendAll = async (first, count) => {
    sender = new Worker(new URL(import.meta.url), {
      workerData: {
        baseUrl: handler.baseUrl,
        conversationId,
        tokens,
        first,
        count,
        inFlight: IN_FLIGHT,
        untilDelivered: !POST_WINDOW,
      },
    });
    await new Promise((resolve, reject) => {
      sender.once("message", resolve);
      sender.once("error", reject);
    });
  };
  await sendAll(0, WARMUP);
  const warm = clock() + DELIVERY_TIMEOUT_MS;
  while (arrivals.size > 0 && clock() < warm) await new Promise((r) => setTimeout(r, 20));
  const handlerCpu = cpuSeconds(handler.pid());
  const nodeCpu = process.cpuUsage();
  const loopUse = performance.eventLoopUtilization();
  const firstPost = clock();
  await sendAll(WARMUP, MESSAGES);
  const expected = MESSAGES * CLIENTS;
  const deadline = clock() + 10_000;
  while (delivered < expected && clock() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }

  const wall = (clock() - firstPost) / 1000;
  const handlerShare = (cpuSeconds(handler.pid()) - handlerCpu) / wall;
  const used = process.cpuUsage(nodeCpu);
  const nodeShare = (used.user + used.system) / 1e6 / wall;
  const receiversBusy = performance.eventLoopUtilization(loopUse).utilization;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const seconds = (lastArrival - firstPost) / 1000;
  const lost = expected - delivered;
  console.log(
    `chat fan-out (official client, ${PROTOCOL().name}): ${CLIENTS} clients, ${MESSAGES} messages, ` +
      `${IN_FLIGHT} in flight (until ${POST_WINDOW ? "answered" : "delivered"})`,
  );
  console.log(
    `  delivery p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms`,
  );
  console.log(`  ${(MESSAGES / seconds).toFixed(0)} messages/s end to end, ${lost} of ${expected} deliveries lost`);
  console.log(
    `  CPU while sending: handler ${(handlerShare * 100).toFixed(0)}%, this Node process (clients and senders) ${(nodeShare * 100).toFixed(0)}% (of one core)`,
  );
  console.log(`  the receivers' thread was busy ${(receiversBusy * 100).toFixed(0)}% of the time`);
  process.exitCode = lost === 0 ? 0 : 1;
} finally {
  for (const r of realtimes) r.stop();
  await handler.stop();
}
// Keep-alive sockets and the clients' timers would keep the process alive.
process.exit();
