// Builds the app into dist/ (or the folder given with --out): one minified, hashed JS bundle
// and one CSS file under assets/, and index.html naming them. esbuild's output depends only
// on the sources and its version, so a rebuild gives the same bytes: test/dist.test.mjs
// checks that the committed dist/ is what the sources build to.
//   node build.mjs            -> web/dist
//   node build.mjs --out DIR  -> DIR (the dist test builds into a temporary folder)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const client = resolve(here, "../clients/typescript");

/** Newest modification time of the files under `dir`. */
function newest(dir) {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return max;
}

/**
 * The client's dist/ is git-ignored: build it when it is missing or older than its sources,
 * so the bundle never carries a stale client.
 */
export function ensureClient() {
  const built = join(client, "dist/src/index.js");
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(client, "src"))) return;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  if (!existsSync(join(client, "node_modules"))) {
    execFileSync(npm, ["ci", "--no-audit", "--no-fund"], { cwd: client, stdio: "inherit" });
  }
  execFileSync(npm, ["run", "build"], { cwd: client, stdio: "inherit" });
}

export async function build(out) {
  ensureClient();
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "assets"), { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: here,
    entryPoints: { app: "src/main.tsx" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir: join(out, "assets"),
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    sourcemap: false,
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    // The bundle must not depend on where the checkout is.
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(out, resolve(here, p)));
  const js = outputs.find((p) => p.endsWith(".js"));
  const css = outputs.find((p) => p.endsWith(".css"));
  const html = readFileSync(join(here, "src/index.html"), "utf8")
    .replace("%SCRIPT%", `<script type="module" src="/${js}"></script>`)
    .replace("%STYLE%", css ? `<link rel="stylesheet" href="/${css}">` : "");
  writeFileSync(join(out, "index.html"), html);
  writeFileSync(join(out, "staticwebapp.config.json"), readFileSync(join(here, "staticwebapp.config.json")));
  return outputs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out");
  const out = i > 0 ? resolve(process.argv[i + 1]) : join(here, "dist");
  const outputs = await build(out);
  console.log(`built ${outputs.join(", ")} and index.html into ${relative(process.cwd(), out) || "."}`);
}
