// The committed web/dist is what the sources build to: a fresh build into a temporary
// folder gives the same files, byte for byte (no git involved).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { build } from "../build.mjs";
import { distDir } from "./lib/server.mjs";

/** Every file under `dir`, as paths relative to it, sorted. */
function files(dir) {
  const walk = (d) =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  return walk(dir).map((p) => relative(dir, p)).sort();
}

test("a rebuild of the app equals the committed web/dist", async () => {
  const out = mkdtempSync(join(tmpdir(), "portal-web-"));
  try {
    await build(out);
    const built = files(out);
    assert.deepEqual(files(distDir), built, "the same file names (run `npm run build` in web/ and commit dist/)");
    for (const name of built) {
      const same = readFileSync(join(out, name)).equals(readFileSync(join(distDir, name)));
      assert.ok(same, `${name} differs from a fresh build (run \`npm run build\` in web/ and commit dist/)`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
