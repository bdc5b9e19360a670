// Against a handler with AUTH_REFRESH_TRANSPORT=cookie: the API then never puts the refresh
// token in a body and refuses refresh and logout without X-Requested-With, which the session
// sends; a cookie-mode session works end to end.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Session } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";
import { PASSWORD, email } from "./helpers.js";

let handler: RunningHandler;
before(async () => {
  handler = await startHandler({ settings: { AUTH_REFRESH_TRANSPORT: "cookie" } });
});
after(async () => {
  await handler?.stop();
});

test("cookie-only API: a cookie-mode session signs up, refreshes and logs out", async () => {
  // What a browser does with the httpOnly cookie, done by hand.
  let cookie: string | null = null;
  const bodies: string[] = [];
  const browserish: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    if (cookie && url.pathname.startsWith("/api/v1/auth")) headers.set("cookie", cookie);
    const body = request.body ? await request.text() : "";
    const response = await fetch(url, { method: request.method, headers, body: body || undefined });
    const set = response.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0];
    bodies.push(await response.clone().text());
    return response;
  };
  const session = new Session({ baseUrl: handler.baseUrl, fetch: browserish, refreshToken: "cookie" });
  await session.signUp({ email: email("only"), password: PASSWORD, name: "Only" });
  const token = (cookie ?? "").replace(/^refresh_token=/, "");
  assert.ok(token.length > 20, "the cookie carries the refresh token");

  assert.equal(await session.refresh(), true, "refresh with the cookie and the script header");
  assert.ok(bodies.every((b) => !b.includes("refreshToken")), "no refresh token in any body");
  await session.logOut();
  assert.equal(session.signedIn, false);
  assert.match(cookie ?? "", /^refresh_token=$/, "logout cleared the cookie");
});
