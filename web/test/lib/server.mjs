// The handler for the journeys: the real binary ($PORTAL_HANDLER) through the client
// package's startHandler (embedded stores in a temporary DATA_DIR, a free loopback port,
// cheap password hashing, high rate limits), serving the committed web/dist itself
// (WEB_DIR), so the browser talks to one origin as it does in Azure.
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { dirname, extname, join, normalize, resolve } from "node:path";
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
 * Starts the handler; resolves to { baseUrl, api(path, init), mailbox(to), stop }.
 * `settings` are extra environment (ADMIN_EMAILS...), `seed` loads seed/courses.json.
 */
export async function startPortal({ settings = {}, seed = false } = {}) {
  const handler = await startHandler({ settings: { WEB_DIR: distDir, ...settings }, seed });
  let baseUrl = handler.baseUrl;
  let proxy = null;
  const page = await fetch(`${baseUrl}/`);
  const servesApp = page.ok && (page.headers.get("content-type") ?? "").includes("text/html");
  if (!servesApp) {
    if (process.env.PORTAL_WEB_PROXY !== "1") {
      await handler.stop();
      throw new Error(
        `the handler does not serve WEB_DIR (GET / answered ${page.status}); use a handler build that does ` +
          "(or PORTAL_WEB_PROXY=1 to serve web/dist from the test while developing)",
      );
    }
    proxy = await serveDist(handler.port);
    baseUrl = proxy.baseUrl;
  }
  const api = (path, init) => fetch(`${handler.baseUrl}${path}`, init);
  const document = await (await api("/api/openapi.json")).json();
  return {
    baseUrl,
    apiUrl: handler.baseUrl,
    api,
    logs: handler.logs,
    /** Whether this handler build has `path` (routes the lead adds while this suite grows). */
    has: (path) => path in document.paths,
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
    async stop() {
      await proxy?.close();
      await handler.stop();
    },
  };
}

/** The app path (with its query) of the first link in an email's text. */
export function linkIn(mail, path) {
  const m = mail.text.match(new RegExp(`(?:https?://[^/\\s]+)?(${path}\\?token=[^\\s"<]+)`));
  if (!m) throw new Error(`no ${path} link in: ${mail.text}`);
  return m[1];
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json" };

/**
 * Development only (PORTAL_WEB_PROXY=1): web/dist with the SPA fallback in front of a handler
 * that does not serve it yet; everything else (API, blobs, the realtime hub's websocket) is
 * passed through with its Host header, so the handler's URLs point back at this origin.
 */
async function serveDist(apiPort) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const local = normalize(join(distDir, path));
    const isFile = local.startsWith(distDir) && existsSync(local) && statSync(local).isFile();
    const passThrough = path.startsWith("/api/") || path.startsWith("/client/") || (!isFile && extname(path) !== "" && !path.endsWith(".html"));
    if (req.method === "GET" && !passThrough) {
      const file = isFile ? local : join(distDir, "index.html");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      createReadStream(file).pipe(res);
      return;
    }
    const upstream = httpRequest(
      { host: "127.0.0.1", port: apiPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    const upstream = connect(apiPort, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join("\r\n") + "\r\n\r\n");
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }),
  };
}
