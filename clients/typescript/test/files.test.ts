// The upload helper against the handler's local signed blob URLs: ticket, PUT, complete.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ApiError, Session, uploadFile } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";
import { PASSWORD, email, recordingFetch } from "./helpers.js";

// A 1x1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

let handler: RunningHandler;
let session: Session;
before(async () => {
  handler = await startHandler();
  session = new Session({ baseUrl: handler.baseUrl });
  await session.signUp({ email: email("uploader"), password: PASSWORD, name: "Uploader" });
});
after(async () => {
  await handler?.stop();
});

test("uploadFile puts the bytes to the signed URL and completes the file", async () => {
  const put = recordingFetch();
  const file = await uploadFile(
    session.api,
    { data: PNG, fileName: "dot.png", fileType: "image/png", category: "image" },
    { fetch: put.fetch },
  );
  assert.equal(file.status, "ready");
  assert.equal(file.size, PNG.byteLength);
  assert.equal(file.fileName, "dot.png");
  assert.equal(file.ownerId, session.user?.id);

  // The bytes went straight to the signed URL, without the session's token.
  assert.equal(put.calls.length, 1);
  assert.equal(put.calls[0].method, "PUT");
  assert.equal(put.calls[0].status, 201);
  assert.equal(put.calls[0].authorization, null);

  // What was uploaded is what is served.
  const { data } = await session.api.GET("/api/v1/files/{id}", { params: { path: { id: file.id } } });
  assert.ok(data?.downloadUrl, "a read URL once ready");
  const read = await fetch(data.downloadUrl);
  assert.equal(read.status, 200);
  assert.deepEqual(Buffer.from(await read.arrayBuffer()), PNG);

  const mine = await session.api.GET("/api/v1/files");
  assert.ok(mine.data?.items.some((f) => f.id === file.id));
});

test("uploadFile takes a Blob, and rejects bytes that are not the declared type", async () => {
  const notes = await uploadFile(session.api, {
    data: new Blob(["plain words"]),
    fileName: "notes.txt",
    fileType: "text/plain",
    category: "attachment",
  });
  assert.equal(notes.status, "ready");
  assert.equal(notes.size, "plain words".length);
  assert.equal(notes.contentType, "text/plain");

  await assert.rejects(
    uploadFile(session.api, {
      data: new Blob(["this is not a picture"]),
      fileName: "fake.png",
      fileType: "image/png",
      category: "image",
    }),
    (e: unknown) => e instanceof ApiError && e.status === 422 && e.code === "UPLOAD_REJECTED",
  );
});

test("a disallowed type is refused before any bytes move", async () => {
  const put = recordingFetch();
  await assert.rejects(
    uploadFile(
      session.api,
      { data: PNG, fileName: "x.exe", fileType: "application/x-msdownload", category: "image" },
      { fetch: put.fetch },
    ),
    (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === "FILE_TYPE_NOT_ALLOWED",
  );
  assert.equal(put.calls.length, 0);
});

test("a file over 8 MiB goes up in blocks of the ticket's size", async () => {
  // An MP4's first bytes (what complete sniffs), then 9 MiB of filler.
  const head = Buffer.from("000000186674797069736f6d0000020069736f6d69736f32", "hex");
  const video = Buffer.concat([head, Buffer.alloc(9 * 1024 * 1024 - head.length, 7)]);
  const put = recordingFetch();
  const progress: number[] = [];
  const file = await uploadFile(
    session.api,
    { data: video, fileName: "talk.mp4", fileType: "video/mp4", category: "video" },
    { fetch: put.fetch, onProgress: (sent) => progress.push(sent) },
  );
  assert.equal(file.status, "ready");
  assert.equal(file.size, video.byteLength);
  // Get Block List, three Put Blocks of at most 4 MiB, one Put Block List.
  assert.equal(put.calls.length, 5);
  assert.deepEqual(progress, [4, 8, 9].map((n) => Math.min(n * 1024 * 1024, video.byteLength)));
  const { data } = await session.api.GET("/api/v1/files/{id}", { params: { path: { id: file.id } } });
  const read = await fetch(data!.downloadUrl!);
  assert.deepEqual(Buffer.from(await read.arrayBuffer()), video);
});
