// A large upload in blocks through the local signed route, as a browser would send it: the
// TypeScript client's uploadFile (upload-url, Get Block List, Put Block per 4 MiB, Put Block
// List, complete) against the release handler on embedded defaults. For each size it starts a
// fresh handler and reports the upload's time and throughput, and the handler's peak resident
// memory (VmHWM) before and after: a streamed upload's peak does not grow with the file.
//
//     cargo build --release --bin handler
//     (cd clients/typescript && npm ci && npm run build)
//     node benches/block_upload.mjs
//     SIZES_MB=20,100,400 node benches/block_upload.mjs
//
// PORTAL_HANDLER names another binary (default target/release/handler). Linux only (reads
// /proc/<pid>/status).
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Session, uploadFile } from "../clients/typescript/dist/src/index.js";
import { repoRoot, startHandler } from "../clients/typescript/dist/tools/handler.mjs";
import { join } from "node:path";

process.env.PORTAL_HANDLER ??= join(repoRoot, "target", "release", "handler");

const sizes = (process.env.SIZES_MB ?? "20,100").split(",").map(Number);
const MB = 1024 * 1024;

/** Peak and current resident memory of a process, in MiB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]);
  return { peak: kib("VmHWM") / 1024, now: kib("VmRSS") / 1024 };
}

// An MP4's first bytes (what complete sniffs), then filler.
const head = Buffer.from("000000186674797069736f6d0000020069736f6d69736f32", "hex");

const rows = [];
for (const size of sizes) {
  const handler = await startHandler();
  try {
    const session = new Session({ baseUrl: handler.baseUrl });
    await session.signUp({
      email: `bench-${Date.now()}@example.com`,
      password: "correct horse battery staple",
      name: "Bench",
    });
    const video = Buffer.concat([head, Buffer.alloc(size * MB - head.length, 7)]);
    const before = memory(handler.pid());
    const started = performance.now();
    const file = await uploadFile(session.api, {
      data: video,
      fileName: "bench.mp4",
      fileType: "video/mp4",
      category: "video",
    });
    const seconds = (performance.now() - started) / 1000;
    if (file.status !== "ready" || file.size !== video.byteLength) {
      throw new Error(`upload of ${size} MB ended ${file.status} with ${file.size} bytes`);
    }
    const after = memory(handler.pid());
    rows.push({
      "size (MB)": size,
      "time (s)": seconds.toFixed(2),
      "MB/s": (size / seconds).toFixed(0),
      "handler peak before (MiB)": before.peak.toFixed(1),
      "handler peak after (MiB)": after.peak.toFixed(1),
    });
  } finally {
    await handler.stop();
  }
}
console.table(rows);
