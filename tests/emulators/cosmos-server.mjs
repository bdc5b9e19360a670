// One cosmosdb-server of a test's own, for the fault tests that stop or pause it (SIGSTOP):
// the shared one runs inside launcher.mjs and serves every other test. Listens on the loopback
// port given as the first argument (HTTPS, its bundled self-signed certificate, any key). Its
// data lives in memory: stopping it loses every document, pausing it keeps them.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "package.json"));
const cosmos = require("@vercel/cosmosdb-server");
const createHttpsServer = cosmos.createHttpsServer || cosmos.default;

const port = Number(process.argv[2]);
const server = createHttpsServer();
server.listen(port, "127.0.0.1");
server.on("error", err => {
  process.stderr.write(`cosmos-server: ${err.message}\n`);
  process.exit(1);
});
