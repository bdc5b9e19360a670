// The handler for the journeys: the real binary ($PORTAL_HANDLER) through the client
// package's startHandler (embedded stores in a temporary DATA_DIR, a free loopback port,
// cheap password hashing, high rate limits), serving the committed web/dist itself
// (WEB_DIR), so the browser talks to one origin as it does in Azure.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startHandler } from "../../../clients/typescript/dist/tools/handler.mjs";

export const webRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const distDir = join(webRoot, "dist");
export const PASSWORD = "correct horse battery staple 42";

let counter = 0;
/** An email no other test uses. */
export function email(who) {
  counter += 1;
  return `${who}-${process.pid}-${counter}-${Date.now().toString(36)}@example.com`;
}

/**
 * Starts the handler; resolves to { baseUrl, api(path, init), logs, mail(to, kind), stop }.
 * `settings` are extra environment (ADMIN_EMAILS...), `seed` loads seed/courses.json.
 */
export async function startPortal({ settings = {}, seed = false } = {}) {
  const handler = await startHandler({ settings: { WEB_DIR: distDir, ...settings }, seed });
  const baseUrl = handler.baseUrl;
  const page = await fetch(`${baseUrl}/`);
  if (!page.ok || !(page.headers.get("content-type") ?? "").includes("text/html")) {
    await handler.stop();
    throw new Error(`the handler does not serve WEB_DIR (GET / answered ${page.status}); the journeys need a build that does`);
  }
  const api = (path, init) => fetch(`${baseUrl}${path}`, init);
  return {
    baseUrl,
    api,
    logs: handler.logs,
    /** The newest email to `to` (the local mailbox, newest first), waiting for it to arrive. */
    async mail(to, kind) {
      for (let i = 0; i < 100; i++) {
        const r = await api(`/api/dev/mailbox?to=${encodeURIComponent(to)}`);
        const { items } = await r.json();
        const found = items.find((m) => !kind || m.kind === kind);
        if (found) return found;
        await new Promise((done) => setTimeout(done, 100));
      }
      throw new Error(`no ${kind ?? ""} email to ${to}`);
    },
    stop: () => handler.stop(),
  };
}

/** The app path (with its query) of the first link in an email's text. */
export function linkIn(mail, path) {
  const m = mail.text.match(new RegExp(`(?:https?://[^/\\s]+)?(${path}\\?token=[^\\s"<]+)`));
  if (!m) throw new Error(`no ${path} link in: ${mail.text}`);
  return m[1];
}
