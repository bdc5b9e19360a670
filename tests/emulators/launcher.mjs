#!/usr/bin/env node
// Test-harness launcher for portal-api integration tests.
//
// Starts, on free 127.0.0.1 ports:
//   - Azurite blob + queue (child processes, in-memory, plain HTTP),
//   - @vercel/cosmosdb-server (in this process, HTTPS, self-signed cert),
//   - redis-server (child process, no persistence),
// waits until every one of them answers, prints exactly ONE JSON line with the
// endpoints to stdout and keeps running until stdin reaches EOF (or
// SIGTERM/SIGINT/SIGHUP), then stops everything and exits.
//
// Everything except that JSON line goes to stderr.
//
// Options:
//   --ignore-stdin   do not stop on stdin EOF (for manual use with </dev/null)
// Environment:
//   EMULATORS_DEBUG=1        Azurite debug logs into the temp dir, more stderr output
//   EMULATORS_TIMEOUT_MS=N   start-up deadline per service (default 30000)

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, accessSync, constants as fsConstants } from "node:fs";
import { tmpdir } from "node:os";
import { join, delimiter, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { randomBytes } from "node:crypto";
import http from "node:http";
import https from "node:https";

const HERE = dirname(fileURLToPath(import.meta.url));
const HOST = "127.0.0.1";
const TIMEOUT_MS = Number(process.env.EMULATORS_TIMEOUT_MS || 30000);
const DEBUG = !!process.env.EMULATORS_DEBUG && process.env.EMULATORS_DEBUG !== "0";
const IGNORE_STDIN = process.argv.includes("--ignore-stdin");

// Well-known development credentials (public, documented by Microsoft).
const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const COSMOS_KEY =
  "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

// stdout carries exactly one JSON line: keep every library's console.log off it.
console.log = console.error;
console.info = console.error;
console.debug = DEBUG ? console.error : () => {};

const log = (...args) => console.error("[emulators]", ...args);

function die(message, code = 1) {
  log(`ERROR: ${message}`);
  shutdown(code);
}

// ---------------------------------------------------------------------------
// Preconditions
// ---------------------------------------------------------------------------

function findOnPath(cmd) {
  for (const dir of (process.env.PATH || "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

const require = createRequire(join(HERE, "package.json"));

function resolveOrExplain(id) {
  try {
    return require.resolve(id);
  } catch {
    log(
      `ERROR: cannot resolve ${id}. Install the emulators first: (cd ${HERE} && npm ci)`
    );
    process.exit(1);
  }
}

const redisServer = findOnPath("redis-server");
if (!redisServer) {
  log("ERROR: redis-server not found on PATH (Debian/Ubuntu: apt-get install redis-server)");
  process.exit(1);
}
const azuriteBlobMain = resolveOrExplain("azurite/dist/src/blob/main.js");
const azuriteQueueMain = resolveOrExplain("azurite/dist/src/queue/main.js");
const cosmosModulePath = resolveOrExplain("@vercel/cosmosdb-server");

// ---------------------------------------------------------------------------
// State and shutdown
// ---------------------------------------------------------------------------

const workDir = mkdtempSync(join(tmpdir(), "portal-api-emulators-"));
const children = []; // { name, proc, exited: Promise }
let cosmosServer = null;
let watchdog = null;
let shuttingDown = false;
let ready = false;

// A detached watchdog process holds the read end of a pipe from us. If this
// launcher dies in any way (including SIGKILL, which we cannot catch), the pipe
// reaches EOF and the watchdog kills the children's process groups.
function startWatchdog() {
  const code = `
    process.title = "portal-api-emulators-watchdog";
    const groups = new Set(); let buf = ""; let disarmed = false;
    const dir = process.argv[1];
    process.stdin.on("data", d => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\\n")) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        if (line === "disarm") disarmed = true;
        else if (/^\\d+$/.test(line)) groups.add(Number(line));
      }
    });
    const kill = sig => { for (const g of groups) { try { process.kill(-g, sig); } catch {} } };
    process.stdin.on("close", () => {
      if (disarmed) process.exit(0);
      kill("SIGTERM");
      setTimeout(() => {
        kill("SIGKILL");
        try { require("fs").rmSync(dir, { recursive: true, force: true }); } catch {}
        process.exit(0);
      }, 2000);
    });
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
  `;
  watchdog = spawn(process.execPath, ["-e", code, workDir], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  watchdog.unref();
  watchdog.stdin.on("error", () => {});
}

function killGroup(proc, signal) {
  if (!proc.pid) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    try {
      proc.kill(signal);
    } catch {
      // already gone
    }
  }
}

async function shutdown(code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  if (DEBUG) log("shutting down");
  if (cosmosServer) {
    try {
      cosmosServer.closeAllConnections?.();
      cosmosServer.close();
    } catch {
      // ignore
    }
  }
  const alive = children.filter(c => c.proc.exitCode === null && c.proc.signalCode === null);
  for (const c of alive) killGroup(c.proc, "SIGTERM");
  const all = Promise.all(alive.map(c => c.exited));
  const timedOut = await Promise.race([
    all.then(() => false),
    new Promise(r => setTimeout(() => r(true), 3000)),
  ]);
  if (timedOut) {
    for (const c of alive) killGroup(c.proc, "SIGKILL");
    await Promise.race([all, new Promise(r => setTimeout(r, 2000))]);
  }
  // Also reap anything left in the groups (grandchildren).
  for (const c of children) killGroup(c.proc, "SIGKILL");
  if (watchdog && watchdog.stdin.writable) {
    watchdog.stdin.write("disarm\n");
    watchdog.stdin.end();
  }
  if (!DEBUG) {
    try {
      rmSync(workDir, { recursive: true, force: true });
    } catch {
      // ignore
    }
  } else {
    log(`logs kept in ${workDir}`);
  }
  process.exit(code);
}

for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(sig, () => {
    if (DEBUG) log(`received ${sig}`);
    shutdown(0);
  });
}
process.on("uncaughtException", err => die(`uncaught exception: ${err && err.stack ? err.stack : err}`));
process.on("unhandledRejection", err => die(`unhandled rejection: ${err && err.stack ? err.stack : err}`));
process.stdout.on("error", () => shutdown(0)); // reader went away (EPIPE)

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** Reserve `count` distinct free loopback ports (all held open at once, then released). */
async function freePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const srv = net.createServer();
      await new Promise((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, HOST, resolve);
      });
      servers.push(srv);
    }
    return servers.map(s => s.address().port);
  } finally {
    await Promise.all(servers.map(s => new Promise(r => s.close(() => r()))));
  }
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

function tcpProbe(port, payload, expect) {
  return new Promise(resolve => {
    const sock = net.connect({ host: HOST, port });
    let data = "";
    const done = ok => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => {
      if (!payload) return done(true);
      sock.write(payload);
    });
    sock.on("data", d => {
      data += d.toString();
      if (data.includes(expect)) done(true);
      else if (data.includes("\r\n")) done(false);
    });
  });
}

function httpProbe(mod, url, okStatus) {
  return new Promise(resolve => {
    const req = mod.get(url, { rejectUnauthorized: false, timeout: 2000, agent: false }, res => {
      res.resume();
      res.on("end", () => resolve(okStatus(res.statusCode)));
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

async function waitFor(name, probe, child) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) {
      throw new Error(
        `${name} exited during start-up (code ${child.proc.exitCode}, signal ${child.proc.signalCode})` +
          (child.tail() ? `; its last output:\n${child.tail()}` : "")
      );
    }
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${name} did not come up within ${TIMEOUT_MS / 1000} s` +
          (child && child.tail() ? `; its last output:\n${child.tail()}` : "")
      );
    }
    await sleep(100);
  }
}

// Extra Azurite accounts, one per test app, so that apps sharing one Azurite never see each
// other's queues and containers (every app's dev host pumps the same queue names).
const EXTRA_ACCOUNTS = Number(process.env.EMULATORS_STORAGE_ACCOUNTS || 256);
const extraAccounts = Array.from({ length: EXTRA_ACCOUNTS }, (_, i) => ({
  name: `testacct${i}`,
  key: randomBytes(32).toString("base64"),
}));

// AZURITE_DB would switch Azurite's metadata store to an external SQL database.
const childEnv = { ...process.env };
delete childEnv.AZURITE_DB;
childEnv.AZURITE_ACCOUNTS = [
  `${AZURITE_ACCOUNT}:${AZURITE_KEY}`,
  ...extraAccounts.map(a => `${a.name}:${a.key}`),
].join(";");

function startChild(name, command, args) {
  if (DEBUG) log(`starting ${name}: ${command} ${args.map(a => JSON.stringify(a)).join(" ")}`);
  const proc = spawn(command, args, {
    cwd: workDir,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group, so we can kill it and its descendants
    env: childEnv,
  });
  let tail = "";
  const onOutput = chunk => {
    const text = chunk.toString();
    tail = (tail + text).slice(-4000);
    if (DEBUG) process.stderr.write(text.replace(/^(?=.)/gm, `[${name}] `));
  };
  proc.stdout.on("data", onOutput);
  proc.stderr.on("data", onOutput);
  const child = {
    name,
    proc,
    tail: () => tail.trim(),
    exited: new Promise(resolve => proc.once("exit", resolve)),
  };
  proc.once("error", err => {
    tail += `\nspawn error: ${err.message}`;
  });
  proc.once("exit", (code, signal) => {
    if (!shuttingDown) {
      die(`${name} exited unexpectedly (code ${code}, signal ${signal})` + (tail ? `; its last output:\n${tail.trim()}` : ""));
    }
  });
  if (proc.pid && watchdog) watchdog.stdin.write(`${proc.pid}\n`);
  children.push(child);
  return child;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function main() {
  startWatchdog();
  if (!IGNORE_STDIN) {
    // EOF on stdin (parent closed the pipe or died) stops everything, also during start-up.
    const onStdinGone = () => {
      if (!ready && !shuttingDown) {
        log("stdin reached EOF before the emulators were ready; stopping " +
          "(keep stdin open, or pass --ignore-stdin and stop with SIGTERM)");
        shutdown(1);
      } else {
        shutdown(0);
      }
    };
    process.stdin.on("end", onStdinGone);
    process.stdin.on("close", onStdinGone);
    process.stdin.on("error", onStdinGone);
    process.stdin.resume(); // discard anything written to us
  }

  const [blobPort, queuePort, cosmosPort, redisPort] = await freePorts(4);

  // No --location: Azurite refuses it together with --inMemoryPersistence; the
  // children's cwd is the temp dir anyway.
  const azuriteCommon = [
    "--inMemoryPersistence",
    "--skipApiVersionCheck",
    "--loose",
    "--silent",
    "--disableTelemetry",
  ];
  const blob = startChild("azurite-blob", process.execPath, [
    azuriteBlobMain,
    "--blobHost", HOST,
    "--blobPort", String(blobPort),
    ...azuriteCommon,
    ...(DEBUG ? ["--debug", join(workDir, "azurite-blob-debug.log")] : []),
  ]);
  const queue = startChild("azurite-queue", process.execPath, [
    azuriteQueueMain,
    "--queueHost", HOST,
    "--queuePort", String(queuePort),
    ...azuriteCommon,
    ...(DEBUG ? ["--debug", join(workDir, "azurite-queue-debug.log")] : []),
  ]);
  const redis = startChild("redis-server", redisServer, [
    "--port", String(redisPort),
    "--bind", HOST,
    "--save", "",
    "--appendonly", "no",
    "--dir", workDir,
    "--daemonize", "no",
    "--loglevel", DEBUG ? "notice" : "warning",
  ]);

  // cosmosdb-server runs in this process (HTTPS with its bundled self-signed cert).
  const cosmosModule = require(cosmosModulePath);
  const createHttpsServer = cosmosModule.createHttpsServer || cosmosModule.default;
  cosmosServer = createHttpsServer();
  await new Promise((resolve, reject) => {
    cosmosServer.once("error", reject);
    cosmosServer.listen(cosmosPort, HOST, resolve);
  });
  cosmosServer.on("error", err => die(`cosmosdb-server error: ${err.message}`));

  const blobBase = `http://${HOST}:${blobPort}/${AZURITE_ACCOUNT}`;
  const queueBase = `http://${HOST}:${queuePort}/${AZURITE_ACCOUNT}`;
  const cosmosEndpoint = `https://${HOST}:${cosmosPort}/`;
  const anyHttpAnswer = status => typeof status === "number" && status > 0;

  await Promise.all([
    waitFor("azurite-blob", async () =>
      (await tcpProbe(blobPort)) && httpProbe(http, `${blobBase}?comp=list`, anyHttpAnswer), blob),
    waitFor("azurite-queue", async () =>
      (await tcpProbe(queuePort)) && httpProbe(http, `${queueBase}?comp=list`, anyHttpAnswer), queue),
    waitFor("redis-server", () => tcpProbe(redisPort, "PING\r\n", "+PONG"), redis),
    waitFor("cosmosdb-server", async () =>
      (await tcpProbe(cosmosPort)) && httpProbe(https, cosmosEndpoint, s => s === 200)),
  ]);

  const info = {
    blobEndpoint: blobBase,
    queueEndpoint: queueBase,
    storageConnectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${blobBase};QueueEndpoint=${queueBase};`,
    // Each: {name, key, connectionString}.
    storageAccounts: extraAccounts.map(a => ({
      ...a,
      connectionString:
        `DefaultEndpointsProtocol=http;AccountName=${a.name};AccountKey=${a.key};` +
        `BlobEndpoint=http://${HOST}:${blobPort}/${a.name};QueueEndpoint=http://${HOST}:${queuePort}/${a.name};`,
    })),
    cosmosEndpoint,
    cosmosKey: COSMOS_KEY,
    redisUrl: `redis://${HOST}:${redisPort}/`,
  };
  ready = true;
  process.stdout.write(`${JSON.stringify(info)}\n`);
  log(
    `ready: blob ${blobPort}, queue ${queuePort}, cosmos ${cosmosPort}, redis ${redisPort}` +
      (IGNORE_STDIN ? " (stop with SIGTERM/SIGINT)" : " (close stdin to stop)")
  );

}

main().catch(err => die(err && err.message ? err.message : String(err)));
