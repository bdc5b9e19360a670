// Uploads a file in blocks through a block upload ticket's URL with the official Azure Storage
// SDK, as a browser or Node client of the portal would:
//   node block-upload.mjs upload <url> <file> <contentType> <blockSize>
//     BlockBlobClient.uploadData with that block size (Put Block per block, Put Block List).
//   node block-upload.mjs stage <url> <file> <blockSize> <count>
//     Stages only the first <count> blocks, then stops: an interrupted upload.
//   node block-upload.mjs resume <url> <file> <contentType> <blockSize>
//     Asks which blocks are staged (Get Block List, uncommitted), stages the others, commits.
//   node block-upload.mjs list <url>
//     The uncommitted blocks (or the service's status when it refuses).
// Prints the outcome as JSON: {status, ...} or {status, code} when the service refuses.
import { readFileSync } from "node:fs";
import { BlockBlobClient, RestError } from "@azure/storage-blob";

const [mode, url, ...rest] = process.argv.slice(2);
const client = new BlockBlobClient(url);
// Ids the way the SDK makes them: base64 of a fixed-width string, one per block index.
const blockId = (i) => Buffer.from(`block-${String(i).padStart(6, "0")}`).toString("base64");

function blocks(data, size) {
  const out = [];
  for (let offset = 0, i = 0; offset < data.length; offset += size, i++) {
    out.push({ id: blockId(i), bytes: data.subarray(offset, offset + size) });
  }
  return out;
}

try {
  if (mode === "upload") {
    const [file, contentType, blockSize] = rest;
    const size = Number(blockSize);
    const response = await client.uploadData(readFileSync(file), {
      blockSize: size,
      // Anything larger than one block goes in blocks, as the ticket's mode asks.
      maxSingleShotSize: size,
      concurrency: 4,
      blobHTTPHeaders: { blobContentType: contentType },
    });
    console.log(JSON.stringify({ status: response._response.status, etag: response.etag }));
  } else if (mode === "stage") {
    const [file, blockSize, count] = rest;
    const parts = blocks(readFileSync(file), Number(blockSize)).slice(0, Number(count));
    for (const part of parts) await client.stageBlock(part.id, part.bytes, part.bytes.length);
    console.log(JSON.stringify({ status: 201, staged: parts.length }));
  } else if (mode === "resume") {
    const [file, contentType, blockSize] = rest;
    const all = blocks(readFileSync(file), Number(blockSize));
    const list = await client.getBlockList("uncommitted");
    const staged = new Set((list.uncommittedBlocks ?? []).map((b) => b.name));
    let sent = 0;
    for (const part of all) {
      if (staged.has(part.id)) continue;
      await client.stageBlock(part.id, part.bytes, part.bytes.length);
      sent++;
    }
    const response = await client.commitBlockList(
      all.map((p) => p.id),
      { blobHTTPHeaders: { blobContentType: contentType } },
    );
    console.log(
      JSON.stringify({ status: response._response.status, alreadyStaged: staged.size, sent }),
    );
  } else if (mode === "list") {
    const list = await client.getBlockList("uncommitted");
    console.log(JSON.stringify({ status: 200, uncommitted: (list.uncommittedBlocks ?? []).length }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (e) {
  if (!(e instanceof RestError) || !e.statusCode) throw e;
  console.log(JSON.stringify({ status: e.statusCode, code: e.code }));
}
