// A real expiry: the handler signs access tokens for 1 second (ACCESS_TOKEN_TTL_SECONDS), and
// the tests wait past it and the verifier's 5 s leeway. The session must then refresh once for
// all concurrent callers, retry each call once, and give up cleanly when the refresh token is
// refused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Session } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";
import { PASSWORD, email, recordingFetch, sleep } from "./helpers.js";

let handler: RunningHandler;
before(async () => {
  handler = await startHandler({ settings: { ACCESS_TOKEN_TTL_SECONDS: "1" } });
});
after(async () => {
  await handler?.stop();
});

/** Waits until the server itself refuses `token` as expired (`INVALID_TOKEN`). */
async function expired(token: string) {
  const started = Date.now();
  for (;;) {
    const response = await fetch(`${handler.baseUrl}/api/v1/users/me`, { headers: { authorization: token } });
    if (response.status === 401) {
      const { code } = (await response.json()) as { code: string };
      if (code === "INVALID_TOKEN") return;
      // A revoked session's token says so until it expires.
      assert.equal(code, "TOKEN_REVOKED");
    } else {
      assert.equal(response.status, 200);
    }
    if (Date.now() - started > 20000) assert.fail("the access token never expired");
    await sleep(500);
  }
}

test("the sign-in answer says the token lives ACCESS_TOKEN_TTL_SECONDS", async () => {
  const answer = await fetch(`${handler.baseUrl}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: email("ttl"), password: PASSWORD, name: "Ttl" }),
  });
  assert.equal(answer.status, 201);
  assert.equal(((await answer.json()) as { expiresIn: number }).expiresIn, 1);
});

test("an expired token is refreshed once for concurrent calls, and each call is retried once", async () => {
  const recorder = recordingFetch();
  const session = new Session({ baseUrl: handler.baseUrl, fetch: recorder.fetch });
  const user = await session.signUp({ email: email("expiry"), password: PASSWORD, name: "Expiry" });
  await session.api.GET("/api/v1/users/me");
  const first = recorder.calls.at(-1)!.authorization!;
  await expired(first);
  recorder.calls.length = 0;

  const answers = await Promise.all([
    session.api.GET("/api/v1/users/me"),
    session.api.GET("/api/v1/auth/sessions"),
    session.api.GET("/api/v1/users/me"),
  ]);
  for (const { response } of answers) assert.equal(response.status, 200);
  assert.equal(answers[0].data?.id, user.id);
  assert.equal(answers[1].data?.items.length, 1);

  const refreshes = recorder.calls.filter((c) => c.path === "/api/v1/auth/refresh");
  assert.equal(refreshes.length, 1, "one refresh shared by the three callers");
  assert.equal(refreshes[0].status, 200);
  const refused = recorder.calls.filter((c) => c.status === 401);
  assert.equal(refused.length, 3, "each call was refused once");
  assert.ok(refused.every((c) => c.code === "INVALID_TOKEN" && c.authorization === first));
  const retried = recorder.calls.filter((c) => c.status === 200 && c.path !== "/api/v1/auth/refresh");
  assert.equal(retried.length, 3, "and retried once");
  const second = retried[0].authorization!;
  assert.notEqual(second, first);
  assert.ok(retried.every((c) => c.authorization === second), "all with the new token");
  assert.equal(session.user?.id, user.id);

  // The refresh token was rotated: a second expiry is handled the same way.
  await expired(second);
  recorder.calls.length = 0;
  const again = await session.api.GET("/api/v1/users/me");
  assert.equal(again.response.status, 200);
  assert.deepEqual(
    recorder.calls.map((c) => `${c.path} ${c.status}`),
    ["/api/v1/users/me 401", "/api/v1/auth/refresh 200", "/api/v1/users/me 200"],
  );
});

test("a revoked session is not refreshed, and a refused refresh signs out", async () => {
  const recorder = recordingFetch();
  let signedOut: string | null = null;
  const session = new Session({
    baseUrl: handler.baseUrl,
    fetch: recorder.fetch,
    onSignedOut: (reason) => (signedOut = reason),
  });
  const address = email("revoked");
  await session.signUp({ email: address, password: PASSWORD, name: "Revoked" });
  const mine = (await session.api.GET("/api/v1/auth/sessions")).data!.items.find((s) => s.current)!;
  const token = recorder.calls.at(-1)!.authorization!;

  // Another device of the same user ends this session.
  const other = new Session({ baseUrl: handler.baseUrl });
  await other.logIn({ email: address, password: PASSWORD });
  const { response } = await other.api.DELETE("/api/v1/auth/sessions/{id}", {
    params: { path: { id: mine.id } },
  });
  assert.equal(response.status, 204);

  // TOKEN_REVOKED is not an expiry: no refresh, the 401 comes back as it is.
  recorder.calls.length = 0;
  const revoked = await session.api.GET("/api/v1/users/me");
  assert.equal(revoked.response.status, 401);
  assert.equal(revoked.error?.code, "TOKEN_REVOKED");
  assert.deepEqual(recorder.calls.map((c) => c.path), ["/api/v1/users/me"]);
  assert.equal(session.signedIn, true);

  // Once expired, the session tries its refresh token once; the server refuses it.
  await expired(token);
  recorder.calls.length = 0;
  const refused = await session.api.GET("/api/v1/users/me");
  assert.equal(refused.response.status, 401);
  assert.equal(refused.error?.code, "INVALID_TOKEN");
  assert.deepEqual(
    recorder.calls.map((c) => `${c.path} ${c.status}`),
    ["/api/v1/users/me 401", "/api/v1/auth/refresh 401"],
  );
  assert.equal(session.signedIn, false);
  assert.ok(signedOut, "onSignedOut was told");
});

test("cookie mode: the session never holds the refresh token; the refresh goes with the cookie", async () => {
  // What a browser does with the httpOnly cookie, done by hand: keep what Set-Cookie says for
  // /api/v1/auth and send it back there.
  let cookie: string | null = null;
  const sent: { path: string; cookie: string | null; body: string }[] = [];
  const browserish: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    if (cookie && url.pathname.startsWith("/api/v1/auth")) headers.set("cookie", cookie);
    const body = request.body ? await request.text() : "";
    sent.push({ path: url.pathname, cookie: headers.get("cookie"), body });
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: body || undefined,
    });
    const set = response.headers.get("set-cookie");
    if (set) cookie = set.split(";")[0];
    return response;
  };
  const session = new Session({ baseUrl: handler.baseUrl, fetch: browserish, refreshToken: "cookie" });
  const user = await session.signUp({ email: email("cookie"), password: PASSWORD, name: "Cookie" });
  assert.match(cookie ?? "", /^refresh_token=./);

  assert.equal(await session.refresh(), true);
  const refresh = sent.find((s) => s.path === "/api/v1/auth/refresh")!;
  assert.ok(refresh.cookie?.startsWith("refresh_token="), "the cookie went along");
  assert.deepEqual(JSON.parse(refresh.body), {}, "and no token in the body");
  const me = await session.api.GET("/api/v1/users/me");
  assert.equal(me.data?.id, user.id);

  // A page reload: a new session object with nothing in memory resumes from the cookie alone.
  const reloaded = new Session({ baseUrl: handler.baseUrl, fetch: browserish, refreshToken: "cookie" });
  assert.equal(reloaded.signedIn, false);
  assert.equal(await reloaded.refresh(), true);
  assert.equal(reloaded.user?.id, user.id);
});
