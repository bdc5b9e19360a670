// Chat fan-out as a frontend fleet sees it: 100 official `@azure/web-pubsub-client` clients in
// one Node process, all members of one group conversation on the release handler (embedded
// defaults, local hub), messages posted over REST with a fixed number in flight. Reports the
// delivery latency from the start of each POST to the `message.new` frame at each client
// (p50, p99, max), the messages lost (must be 0) and the messages per second end to end.
//
// The senders run in a worker thread with node:http keep-alive connections: they stand for
// other people's browsers, and `fetch` costs the Node thread about 1.5 ms of CPU a request,
// which on the receivers' thread would measure the load generator rather than the fan-out.
// Each message's text carries the time its POST started, so the receivers need no
// bookkeeping shared with the senders.
//
//     cargo build --release --bin handler
//     (cd clients/typescript && npm ci && npm run build)
//     node benches/chat_fanout_clients.mjs
//     CLIENTS=200 MESSAGES=1000 IN_FLIGHT=20 node benches/chat_fanout_clients.mjs
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

if (!isMainThread) {
  await send(workerData);
  parentPort.postMessage("done");
  process.exit(0);
}

/** The senders: `inFlight` loops posting `messages` messages in turns of the given tokens. */
async function send({ baseUrl, conversationId, tokens, messages, inFlight }) {
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
  let next = 0;
  const loop = async () => {
    while (next < messages) {
      const n = next++;
      await post(tokens[n % tokens.length], { clientMessageId: `fanout-${n}`, text: `${clock()}` });
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
const MESSAGES = number("MESSAGES", 500);
const IN_FLIGHT = number("IN_FLIGHT", 10);
// The package's default is the reliable protocol; PROTOCOL=json for the plain one.
const PROTOCOL = process.env.PROTOCOL === "json" ? WebPubSubJsonProtocol : WebPubSubJsonReliableProtocol;
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
  for (const person of people) {
    const realtime = new Realtime(person.api, { protocol: PROTOCOL() });
    realtime.on("message.new", (message) => {
      if (!message.clientMessageId.startsWith("fanout-")) return;
      const now = clock();
      latencies.push(now - Number(message.text));
      delivered += 1;
      lastArrival = now;
    });
    realtimes.push(realtime);
  }
  await Promise.all(realtimes.map((r) => r.start()));

  // Senders take turns, IN_FLIGHT posts at a time, in their own thread.
  const handlerCpu = cpuSeconds(handler.pid());
  const nodeCpu = process.cpuUsage();
  const firstPost = clock();
  const sender = new Worker(new URL(import.meta.url), {
    workerData: { baseUrl: handler.baseUrl, conversationId, tokens, messages: MESSAGES, inFlight: IN_FLIGHT },
  });
  await new Promise((resolve, reject) => {
    sender.once("message", resolve);
    sender.once("error", reject);
  });
  const expected = MESSAGES * CLIENTS;
  const deadline = clock() + 10_000;
  while (delivered < expected && clock() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }

  const wall = (clock() - firstPost) / 1000;
  const handlerShare = (cpuSeconds(handler.pid()) - handlerCpu) / wall;
  const used = process.cpuUsage(nodeCpu);
  const nodeShare = (used.user + used.system) / 1e6 / wall;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const seconds = (lastArrival - firstPost) / 1000;
  const lost = expected - delivered;
  console.log(
    `chat fan-out (official client, ${PROTOCOL().name}): ${CLIENTS} clients, ${MESSAGES} messages, ${IN_FLIGHT} in flight`,
  );
  console.log(
    `  delivery p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms`,
  );
  console.log(`  ${(MESSAGES / seconds).toFixed(0)} messages/s end to end, ${lost} of ${expected} deliveries lost`);
  console.log(
    `  CPU while sending: handler ${(handlerShare * 100).toFixed(0)}%, this Node process (clients and senders) ${(nodeShare * 100).toFixed(0)}% (of one core)`,
  );
  process.exitCode = lost === 0 ? 0 : 1;
} finally {
  for (const r of realtimes) r.stop();
  await handler.stop();
}
// Keep-alive sockets and the clients' timers would keep the process alive.
process.exit();
