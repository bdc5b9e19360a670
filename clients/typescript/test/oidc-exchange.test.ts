// The last step of an OpenID Connect sign-in: `exchangeSignInCode` posts the callback's
// one-time code with the script header, and a code the API does not know is refused as
// login refuses (an ApiError with the problem code) with the session left signed out. A
// code that signs in needs a provider: the web app's journey (web/test/oidc.journey.mjs)
// and the Rust tests do that one.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ApiError, Session } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";

let handler: RunningHandler;
before(async () => {
  handler = await startHandler();
});
after(async () => {
  await handler?.stop();
});

test("an unknown sign-in code is refused: INVALID_TOKEN, still signed out", async () => {
  const sent: Request[] = [];
  const session = new Session({
    baseUrl: handler.baseUrl,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      sent.push(request.clone());
      return globalThis.fetch(request);
    },
  });
  await assert.rejects(session.exchangeSignInCode("not-a-code"), (e: unknown) => {
    assert.ok(e instanceof ApiError, `an ApiError, not ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.code, "INVALID_TOKEN");
    return true;
  });
  assert.equal(session.signedIn, false);
  assert.equal(sent.length, 1);
  const [request] = sent;
  assert.equal(request.method, "POST");
  assert.equal(new URL(request.url).pathname, "/api/v1/auth/oidc/exchange");
  assert.equal(request.credentials, "include", "a browser sends and keeps the refresh cookie");
  assert.equal(request.headers.get("x-requested-with"), "portal-api-client");
  assert.deepEqual(await request.json(), { code: "not-a-code" });
});
