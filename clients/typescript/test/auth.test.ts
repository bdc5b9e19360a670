// Sign-up, login and logout through the Session against the real handler.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ApiError, Session } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";
import { PASSWORD, email, recordingFetch } from "./helpers.js";

let handler: RunningHandler;
before(async () => {
  handler = await startHandler();
});
after(async () => {
  await handler?.stop();
});

test("signUp signs in: the user is known and authenticated calls work", async () => {
  const session = new Session({ baseUrl: handler.baseUrl });
  const address = email("ada");
  const user = await session.signUp({ email: address, password: PASSWORD, name: "Ada" });
  assert.equal(user.email, address);
  assert.equal(user.name, "Ada");
  assert.equal(user.role, "user");
  assert.equal(session.signedIn, true);
  assert.equal(session.user?.id, user.id);

  const { data, response } = await session.api.GET("/api/v1/users/me");
  assert.equal(response.status, 200);
  assert.equal(data?.id, user.id);
  assert.equal(data?.email, address);
});

test("signUp with a taken email rejects with the API's problem", async () => {
  const address = email("taken");
  await new Session({ baseUrl: handler.baseUrl }).signUp({ email: address, password: PASSWORD, name: "One" });
  const second = new Session({ baseUrl: handler.baseUrl });
  await assert.rejects(
    second.signUp({ email: address, password: PASSWORD, name: "Two" }),
    (e: unknown) => e instanceof ApiError && e.status === 409 && e.code === "EMAIL_TAKEN",
  );
  assert.equal(second.signedIn, false);
});

test("logIn with the right password signs in; a wrong one is refused", async () => {
  const address = email("grace");
  const created = await new Session({ baseUrl: handler.baseUrl }).signUp({
    email: address,
    password: PASSWORD,
    name: "Grace",
  });
  const wrong = new Session({ baseUrl: handler.baseUrl });
  await assert.rejects(
    wrong.logIn({ email: address, password: "not the password at all" }),
    (e: unknown) => e instanceof ApiError && e.status === 401 && typeof e.code === "string",
  );
  assert.equal(wrong.signedIn, false);

  const session = new Session({ baseUrl: handler.baseUrl });
  const user = await session.logIn({ email: address, password: PASSWORD });
  assert.equal(user.id, created.id);
  const { data } = await session.api.GET("/api/v1/auth/sessions");
  assert.equal(data?.items.filter((s) => s.current).length, 1, "this session is listed as current");
});

test("logOut ends the session on the server and forgets the token here", async () => {
  const recorder = recordingFetch();
  const session = new Session({ baseUrl: handler.baseUrl, fetch: recorder.fetch });
  await session.signUp({ email: email("linus"), password: PASSWORD, name: "Linus" });
  await session.api.GET("/api/v1/users/me");
  const token = recorder.calls.at(-1)?.authorization;
  assert.match(token ?? "", /^Bearer /);

  await session.logOut();
  assert.equal(session.signedIn, false);
  assert.equal(session.user, null);
  const logout = recorder.calls.find((c) => c.path === "/api/v1/auth/logout");
  assert.equal(logout?.status, 204);

  // The old token is refused by the server, not only forgotten by the client.
  const reused = await fetch(`${handler.baseUrl}/api/v1/users/me`, { headers: { authorization: token! } });
  assert.equal(reused.status, 401);
  assert.equal(((await reused.json()) as { code: string }).code, "TOKEN_REVOKED");

  // Signed out, calls go without a token, and nothing tries to refresh.
  const { response, error } = await session.api.GET("/api/v1/users/me");
  assert.equal(response.status, 401);
  assert.equal(error?.code, "UNAUTHORIZED");
  assert.equal(recorder.calls.at(-1)?.authorization, null);
  assert.equal(recorder.calls.filter((c) => c.path === "/api/v1/auth/refresh").length, 0);
});
