// Starts the real `handler` binary for the client's tests and for type generation: local mode,
// embedded stores in a temporary DATA_DIR, a free loopback port, cheap password hashing and
// limits high enough for a test run (the same settings tests/api/helpers.rs gives the Rust
// tests). The binary is $PORTAL_HANDLER (relative paths are taken from the repository root),
// else target/debug/handler.
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** The repository root: clients/typescript/tools/ (or dist/tools/) is below it. */
export const repoRoot = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "Cargo.toml"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("no Cargo.toml above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

/** Where the handler binary is. */
export function handlerPath() {
  const given = process.env.PORTAL_HANDLER;
  const path = given
    ? isAbsolute(given)
      ? given
      : resolve(repoRoot, given)
    : join(repoRoot, "target", "debug", "handler");
  if (!existsSync(path)) {
    throw new Error(
      `no handler binary at ${path}: run \`cargo build --bin handler\` in ${repoRoot}, ` +
        "or set PORTAL_HANDLER to the binary",
    );
  }
  return path;
}

/** A port nobody listens on right now. */
export async function freePort() {
  return await new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * @typedef {object} RunningHandler
 * @property {string} baseUrl  e.g. http://127.0.0.1:40123 (the API is under /api)
 * @property {number} port
 * @property {string} dataDir
 * @property {() => string} logs  what the handler printed so far
 * @property {() => number | undefined} pid  the running process's id
 * @property {() => Promise<void>} stop  ends the process and removes its data folder
 * @property {(whileDown?: () => Promise<unknown>) => Promise<void>} restart  a new process on
 *   the same port and data folder, `whileDown` run while there is none
 */

/**
 * Starts the handler and waits until `GET /api/healthz` answers 200.
 * @param {{ settings?: Record<string, string>, seed?: boolean }} [options]
 *   `settings`: extra environment (e.g. ACCESS_TOKEN_TTL_SECONDS); `seed`: load
 *   seed/courses.json with `handler seed` first.
 * @returns {Promise<RunningHandler>}
 */
export async function startHandler(options = {}) {
  const binary = handlerPath();
  const dataDir = mkdtempSync(join(tmpdir(), "portal-client-"));
  const port = await freePort();
  // Only what the handler needs, so no backend setting of the caller's shell leaks in: this
  // run is on the embedded stores.
  /** @type {Record<string, string>} */
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? dataDir,
    PORT: String(port),
    DATA_DIR: dataDir,
    SCRIPT_ROOT: repoRoot,
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    RATE_LIMIT_GENERAL_PER_MINUTE: "100000",
    RATE_LIMIT_AUTH_PER_MINUTE: "100000",
    RATE_LIMIT_FORMS_PER_HOUR: "100000",
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_ITERATIONS: "1",
    ARGON2_PARALLELISM: "1",
    ...options.settings,
  };
  if (options.seed) {
    await promisify(execFile)(binary, ["seed"], { env, cwd: repoRoot });
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  let output = "";
  /** @type {import("node:child_process").ChildProcess} */
  let child;
  /** @type {Promise<void>} */
  let exited = Promise.resolve();
  const killOnExit = () => child?.kill("SIGKILL");
  process.on("exit", killOnExit);

  const end = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const stop = async () => {
    await end();
    process.removeListener("exit", killOnExit);
    rmSync(dataDir, { recursive: true, force: true });
  };

  const launch = async () => {
    child = spawn(binary, [], { env, cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    const running = child;
    running.stdout?.on("data", (chunk) => (output += chunk));
    running.stderr?.on("data", (chunk) => (output += chunk));
    exited = new Promise((done) => running.once("exit", () => done()));
    const started = Date.now();
    for (;;) {
      if (running.exitCode !== null || running.signalCode !== null) {
        await stop();
        throw new Error(`handler exited before it was ready:\n${output}`);
      }
      try {
        const response = await fetch(`${baseUrl}/api/healthz`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() - started > 30000) {
        await stop();
        throw new Error(`handler not ready after 30 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  await launch();
  /**
   * Stops the process and starts a new one on the same port and data; `whileDown` runs in
   * between (e.g. to wait until a client has noticed).
   * @param {() => Promise<unknown>} [whileDown]
   */
  const restart = async (whileDown) => {
    await end();
    await whileDown?.();
    await launch();
  };
  return { baseUrl, port, dataDir, logs: () => output, pid: () => child?.pid, stop, restart };
}
