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
}

export interface UploadOptions {
  /** The `fetch` for the PUT to the signed URL (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * The upload flow: `POST /api/v1/files/upload-url`, PUT the bytes straight to the returned
 * signed URL with the returned headers (Blob Storage, or the handler's local blob route),
 * then `POST /api/v1/files/complete`. Resolves to the ready file.
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
      },
    }),
    "upload-url",
  );
  const put = await (options.fetch ?? globalThis.fetch)(ticket.uploadUrl, {
    method: ticket.method,
    headers: ticket.headers,
    // A Uint8Array over a SharedArrayBuffer is not a BodyInit in the DOM types; fetch takes it.
    body: input.data as BodyInit,
  });
  if (!put.ok) {
    let body: unknown = await put.text();
    try {
      body = JSON.parse(body as string);
    } catch {
      // Blob Storage answers XML
    }
    throw new ApiError(put.status, body, "upload");
  }
  const completed = unwrap(
    await api.POST("/api/v1/files/complete", { body: { fileId: ticket.fileId } }),
    "complete",
  );
  return completed.file;
}
