// Journey: signing in with an OpenID provider (a real one: oidc-provider, as the Rust tests
// use). Ida opens her settings, is asked to sign in, picks "Test IdP", signs in on the
// provider's pages and lands back on her settings, signed in; a reload keeps her signed in;
// her settings list the linked provider, unlinking her only way to sign in is refused, and
// with no password she deletes her account on the strength of that fresh sign-in.
// Uma's provider has not verified her address: she ends on the sign-in page, told why.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Journey, launch } from "./lib/browser.mjs";
import { startProvider } from "./lib/provider.mjs";
import { email, startPortal } from "./lib/server.mjs";

let provider;
let portal;
let browser;
before(async () => {
  provider = await startProvider();
  [portal, browser] = await Promise.all([
    startPortal({
      settings: {
        OIDC_PROVIDERS: "test",
        OIDC_TEST_ISSUER: provider.issuer,
        OIDC_TEST_CLIENT_ID: provider.clientId,
        OIDC_TEST_CLIENT_SECRET: provider.clientSecret,
        OIDC_TEST_LABEL: "Test IdP",
      },
    }),
    launch(),
  ]);
});
after(async () => {
  await browser?.close();
  await portal?.stop();
  await provider?.stop();
});

/** A person's page whose requests off this machine (the provider's web fonts) fail at once. */
async function openPerson(j, who) {
  const page = await j.open(browser, who, portal.baseUrl);
  await page.context().route((url) => url.hostname !== "127.0.0.1", (route) => route.abort());
  return page;
}

/** On the provider's pages (not the app's): any login and password, then the consent. */
async function signInAtProvider(j, page, login, label) {
  await page.waitForURL((url) => url.origin === provider.issuer);
  await page.getByRole("textbox", { name: "Enter any login" }).fill(login);
  await page.getByRole("textbox", { name: "and password" }).fill("anything");
  await j.step(page, `${label} provider sign-in page`);
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL((url) => url.origin === portal.baseUrl);
}

test("sign in with an OpenID provider: back signed in, a reload keeps it, the link in settings, erase without a password", async () => {
  const j = new Journey("oidc");
  j.foreign(provider.issuer);
  const ida = await openPerson(j, "Ida");
  const address = email("ida");

  await ida.goto("/settings");
  await ida.getByRole("heading", { name: "Please sign in" }).waitFor();
  await ida.getByRole("main").getByRole("link", { name: "Sign in", exact: true }).click();
  const providers = ida.getByRole("navigation", { name: "Other ways to sign in" });
  const choice = providers.getByRole("link", { name: "Continue with Test IdP" });
  await choice.waitFor();
  await j.step(ida, "sign-in page with the provider");
  await choice.click();
  await signInAtProvider(j, ida, address, "ida");

  // Back where she started, signed in, and the one-time code is off the URL.
  await ida.getByRole("heading", { name: "Settings" }).waitFor();
  await ida.getByRole("button", { name: "Sign out", exact: true }).waitFor();
  const landed = new URL(ida.url());
  assert.equal(landed.pathname, "/settings");
  assert.equal(landed.searchParams.has("signin"), false, `the code stayed on the URL: ${ida.url()}`);
  await j.step(ida, "back signed in");

  await ida.reload();
  await ida.getByRole("heading", { name: "Settings" }).waitFor();
  await ida.getByRole("button", { name: "Sign out", exact: true }).waitFor();

  const linked = ida.getByRole("list", { name: "Linked sign-in providers" });
  await linked.getByText("Test IdP").waitFor();
  await linked.getByText(address).waitFor();
  await j.step(ida, "settings after reload with the linked provider");

  // Her only way to sign in: no password, no other provider. The browser logs the refusal.
  j.allow(/409 .*\/api\/v1\/users\/me\/identities\/test$/);
  await linked.getByRole("button", { name: "Unlink Test IdP" }).click();
  await ida.getByRole("alert").filter({ hasText: "Test IdP is the only way you can sign in" }).waitFor();
  await linked.getByText("Test IdP").waitFor();
  await j.step(ida, "unlinking the last sign-in method refused");

  // She has no password: settings offer to mail a link that sets one, not a change form.
  assert.equal(await ida.getByLabel("Current password").count(), 0);
  await ida.getByRole("button", { name: "Email me a link to set a password" }).click();
  await ida.getByRole("status").filter({ hasText: `We sent a link to ${address}` }).waitFor();
  await portal.mail(address, "password-reset");
  await j.step(ida, "link to set a password sent");

  // With no password to ask for, her fresh sign-in confirms the erase.
  assert.equal(await ida.getByLabel("Password to delete the account").count(), 0);
  ida.once("dialog", (d) => d.accept());
  await ida.getByRole("button", { name: "Delete my account" }).click();
  await ida.getByRole("status").filter({ hasText: "Your account is deleted." }).waitFor();
  await j.step(ida, "passwordless account deleted");

  // Uma's provider says her address is not verified: no account is made from it.
  const uma = await openPerson(j, "Uma");
  await uma.goto("/signin");
  await uma.getByRole("link", { name: "Continue with Test IdP" }).click();
  await signInAtProvider(j, uma, `unverified-${process.pid}@example.com`, "uma");
  await uma.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(new URL(uma.url()).pathname, "/signin");
  await uma.getByRole("alert").filter({ hasText: "The provider has not verified your email address" }).waitFor();
  await uma.getByRole("button", { name: "Sign out", exact: true }).waitFor({ state: "detached" });
  await j.step(uma, "unverified email refused");
  j.finish();
});
