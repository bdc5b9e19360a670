// Uploads through the client's `uploadFile`, with a `fetch` for the PUTs to the signed URL
// built on XMLHttpRequest: fetch cannot report upload progress, XHR's upload events can, so
// a progress bar moves during a single PUT too.
import { uploadFile, type Category, type FileView } from "@portal-api/client";
import { api } from "./store";

function progressFetch(onProgress: (loaded: number, total: number) => void): typeof fetch {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const request = new Request(input, init);
      const xhr = new XMLHttpRequest();
      xhr.open(request.method, request.url);
      request.headers.forEach((value, name) => xhr.setRequestHeader(name, value));
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded, e.total);
      xhr.onload = () =>
        resolve(new Response(xhr.status === 204 ? null : xhr.response, { status: xhr.status, statusText: xhr.statusText }));
      xhr.onerror = () => reject(new TypeError("The upload failed (network)."));
      xhr.responseType = "blob";
      const body = init?.body ?? null;
      xhr.send(body as XMLHttpRequestBodyInit | null);
    });
}

export async function upload(
  file: File,
  category: Category,
  onProgress: (fraction: number) => void,
  courseId?: string,
): Promise<FileView> {
  onProgress(0);
  const done = await uploadFile(
    api,
    { data: file, fileName: file.name, fileType: file.type || "application/octet-stream", category, courseId },
    { fetch: progressFetch((loaded, total) => onProgress(total ? loaded / total : 0)), onProgress: (s, t) => onProgress(t ? s / t : 1) },
  );
  onProgress(1);
  return done;
}
