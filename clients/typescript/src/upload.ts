import { ApiError, unwrap } from "./errors.js";
import type { components } from "./openapi.js";
import type { Api } from "./session.js";

type Schemas = components["schemas"];
export type Category = Schemas["Category"];
export type FileView = Schemas["FileView"];

export interface UploadInput {
  /** The bytes: a Blob or File in a browser, a Uint8Array (Buffer) in Node. */
  data: Blob | Uint8Array;
  fileName: string;
  /** The MIME type; it must be on the category's allow-list. */
  fileType: string;
  category: Category;
  /** The course a `course` asset is for (admins only). */
  courseId?: string;
}

export interface UploadOptions {
  /** The `fetch` for the PUTs to the signed URL (default: the global one). */
  fetch?: typeof fetch;
  /** Called after each block of a block upload, with the bytes sent so far. */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

type Ticket = Schemas["UploadTicket"];

async function refusal(response: Response, what: string): Promise<ApiError> {
  let body: unknown = await response.text();
  try {
    body = JSON.parse(body as string);
  } catch {
    // Blob Storage answers XML
  }
  return new ApiError(response.status, body, what);
}

/** The signed URL with Blob Storage's operation parameters added. */
function withQuery(url: string, pairs: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(pairs)) u.searchParams.set(k, v);
  return u.toString();
}

/** Block ids as the Azure SDKs make them: base64 of a fixed-width string per index. */
function blockId(index: number): string {
  const raw = `block-${String(index).padStart(6, "0")}`;
  return typeof btoa === "function" ? btoa(raw) : Buffer.from(raw).toString("base64");
}

/**
 * A block upload (the ticket's `blocks` mode, files over 8 MiB): asks which blocks the staging
 * blob already has (Get Block List, uncommitted), so a second call after an interruption sends
 * only the rest, then Put Block per `blockSize` and Put Block List, as Blob Storage does it.
 */
async function putBlocks(
  ticket: Ticket,
  data: Blob | Uint8Array,
  contentType: string,
  options: UploadOptions,
): Promise<void> {
  const f = options.fetch ?? globalThis.fetch;
  const total = data instanceof Uint8Array ? data.byteLength : data.size;
  const size = ticket.blockSize ?? 4 * 1024 * 1024;
  const count = Math.ceil(total / size);
  const listed = await f(withQuery(ticket.uploadUrl, { comp: "blocklist", blocklisttype: "uncommitted" }));
  const staged = new Map<string, number>();
  if (listed.ok) {
    const xml = await listed.text();
    for (const m of xml.matchAll(/<Block><Name>([^<]+)<\/Name><Size>(\d+)<\/Size><\/Block>/g)) {
      staged.set(m[1], Number(m[2]));
    }
  }
  const ids: string[] = [];
  let sent = 0;
  for (let i = 0; i < count; i++) {
    const id = blockId(i);
    ids.push(id);
    const start = i * size;
    const end = Math.min(start + size, total);
    if (staged.get(id) !== end - start) {
      const body = data.slice(start, end);
      const put = await f(withQuery(ticket.uploadUrl, { comp: "block", blockid: id }), {
        method: "PUT",
        body: body as BodyInit,
      });
      if (!put.ok) throw await refusal(put, "upload");
    }
    sent = end;
    options.onProgress?.(sent, total);
  }
  const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids
    .map((id) => `<Latest>${id}</Latest>`)
    .join("")}</BlockList>`;
  const commit = await f(withQuery(ticket.uploadUrl, { comp: "blocklist" }), {
    method: "PUT",
    headers: { "x-ms-blob-content-type": contentType, "Content-Type": "application/xml" },
    body: list,
  });
  if (!commit.ok) throw await refusal(commit, "upload");
}

/**
 * The upload flow: `POST /api/v1/files/upload-url`, PUT the bytes straight to the returned
 * signed URL with the returned headers (Blob Storage, or the handler's local blob route), in
 * blocks when the ticket says so, then `POST /api/v1/files/complete`. Resolves to the ready
 * file.
 */
export async function uploadFile(
  api: Api,
  input: UploadInput,
  options: UploadOptions = {},
): Promise<FileView> {
  const size = input.data instanceof Uint8Array ? input.data.byteLength : input.data.size;
  const ticket = unwrap(
    await api.POST("/api/v1/files/upload-url", {
      body: {
        fileName: input.fileName,
        fileType: input.fileType,
        fileSize: size,
        category: input.category,
        courseId: input.courseId,
      },
    }),
    "upload-url",
  );
  if (ticket.mode === "blocks") {
    await putBlocks(ticket, input.data, input.fileType, options);
  } else {
    const put = await (options.fetch ?? globalThis.fetch)(ticket.uploadUrl, {
      method: ticket.method,
      headers: ticket.headers,
      // A Uint8Array over a SharedArrayBuffer is not a BodyInit in the DOM types; fetch takes it.
      body: input.data as BodyInit,
    });
    if (!put.ok) throw await refusal(put, "upload");
    options.onProgress?.(size, size);
  }
  const completed = unwrap(
    await api.POST("/api/v1/files/complete", { body: { fileId: ticket.fileId } }),
    "complete",
  );
  return completed.file;
}
