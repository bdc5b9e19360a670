// A real OpenID provider for the sign-in journey: the one the Rust tests start
// (tests/emulators/oidc-provider.mjs, npm `oidc-provider` with its development sign-in pages,
// which take any login and password). It prints one JSON line, {issuer, clientId,
// clientSecret}, and runs until its stdin closes.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { webRoot } from "./server.mjs";

const repoRoot = resolve(webRoot, "..");
const script = join("tests", "emulators", "oidc-provider.mjs");

/** Resolves to { issuer, clientId, clientSecret, stop }. */
export async function startProvider() {
  if (!existsSync(join(repoRoot, "tests", "emulators", "node_modules", "oidc-provider"))) {
    throw new Error("tests/emulators/node_modules has no oidc-provider: run `npm ci` in tests/emulators");
  }
  const child = spawn(process.execPath, [script], { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (b) => (stderr += b));
  const exited = new Promise((done) => child.once("exit", done));
  const line = await new Promise((done, fail) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => fail(new Error(`the OpenID provider did not start in 20 s: ${stderr}`)), 20_000);
    lines.once("line", (l) => {
      clearTimeout(timer);
      done(l);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`the OpenID provider exited (${code}): ${stderr}`));
    });
  });
  const { issuer, clientId, clientSecret } = JSON.parse(line);
  return {
    issuer,
    clientId,
    clientSecret,
    /** Closing its stdin ends it. */
    async stop() {
      child.stdin.end();
      const late = setTimeout(() => child.kill(), 5_000);
      await exited;
      clearTimeout(late);
    },
  };
}
