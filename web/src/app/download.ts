// Downloads of API answers that need the access token (CSV export, data export): a plain
// link cannot carry it, so the body is fetched and saved through a blob: URL.
import { session } from "./store";

/** Saves a response body as a file: the CSV needs the token, so a plain link cannot do it. */
export async function download(path: string, fileName: string): Promise<void> {
  const r = await session.fetch(path);
  if (!r.ok) throw new Error(`The download failed (${r.status}).`);
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
