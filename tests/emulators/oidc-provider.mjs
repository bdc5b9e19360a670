#!/usr/bin/env node
// A real OpenID provider for the sign-in tests: npm `oidc-provider` (OpenID-certified), on a free
// 127.0.0.1 port with a plain-HTTP issuer. It prints ONE JSON line to stdout,
// `{"issuer", "clientId", "clientSecret"}`, and runs until stdin reaches EOF (its parent, the
// test process, ended) or a signal comes.
//
// What it is configured with, and why:
// - One confidential client (client_secret_basic, authorization code, PKCE required by the
//   provider for every client). It is registered as a `native` application so that, as RFC 8252
//   section 7.3 asks of providers, its loopback redirect URIs match on any port: each test app
//   listens on a port of its own. Its redirect URIs are the handler's callbacks of the provider
//   names the tests configure (`test`, `other`).
// - The provider's development sign-in pages, which take any login and password: the login is
//   the account's `sub`. Its claims: `email` is the login itself when it holds an `@`
//   (`<login>@example.test` otherwise); `email_verified` is false for logins that start with
//   `unverified`, true for the others. So a test picks who signs in by what it types.

import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import Provider from "oidc-provider";

// stdout carries exactly one JSON line.
console.log = console.error;
console.info = console.error;

async function freePort() {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const port = Number(process.env.OIDC_PORT || 0) || (await freePort());
const issuer = `http://127.0.0.1:${port}`;
const clientId = "portal-test";
const clientSecret = randomBytes(24).toString("base64url");
const callbacks = ["test", "other"].map(
  (name) => `http://127.0.0.1/api/v1/auth/oidc/${name}/callback`,
);

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      application_type: "native",
      redirect_uris: callbacks,
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
  },
  // The ID token carries the claims (the handler reads them there, not from userinfo).
  conformIdTokenClaims: false,
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({
      sub,
      email: sub.includes("@") ? sub : `${sub}@example.test`,
      email_verified: !sub.startsWith("unverified"),
      name: `Person ${sub.split("@")[0]}`,
    }),
  }),
  cookies: { keys: [randomBytes(32).toString("base64url")] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 600, Grant: 600 },
});
// Its warnings about development-only settings are expected here.
provider.on("server_error", (_ctx, error) => console.error("[oidc-provider]", error));

const server = provider.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ issuer, clientId, clientSecret })}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, stop);
