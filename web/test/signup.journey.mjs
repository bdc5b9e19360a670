// Journey 1: sign up, open the verification link from the local mailbox, see the banner
// go; a reload keeps the session (the refresh cookie), with no token in web storage.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Journey, portalSuite } from "./lib/browser.mjs";
import { signOut } from "./lib/flows.mjs";
import { PASSWORD, email, linkIn } from "./lib/server.mjs";

const suite = portalSuite();

test("sign up, verify the email from the mailbox, stay signed in across a reload", async () => {
  const { portal, browser } = suite;
  const j = new Journey("signup");
  const page = await j.open(browser, "Dana", portal.baseUrl);
  const address = email("dana");

  // Back from an OpenID provider with an error: the sign-in page says so.
  await page.goto("/signin?error=PROVIDER_DENIED");
  await page.getByRole("alert").filter({ hasText: "Signing in with the provider was cancelled or refused." }).waitFor();
  await j.step(page, "provider error on sign-in");

  await page.goto("/");
  await page.getByRole("link", { name: "Sign up" }).first().click();
  await page.getByRole("heading", { name: "Create your account" }).waitFor();
  await j.step(page, "sign-up form");
  await page.getByLabel("Name").fill("Dana Scully");
  await page.getByLabel("Email").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();

  await page.getByRole("heading", { name: "Welcome, Dana Scully" }).waitFor();
  const banner = page.getByRole("region", { name: "Email verification" });
  await banner.waitFor();
  await j.step(page, "signed in with banner");

  // Resend works too; then the newest verification email carries the link.
  await banner.getByRole("button", { name: "Resend verification email" }).click();
  await banner.getByRole("status").waitFor();
  const mail = await portal.mail(address, "verification");
  await page.goto(linkIn(mail, "/verify-email"));
  await page.getByRole("status").filter({ hasText: "Your email address is verified." }).waitFor();
  await banner.waitFor({ state: "detached" });
  await j.step(page, "email verified");

  await page.getByRole("link", { name: "Profile" }).click();
  await page.getByRole("heading", { name: "Profile" }).waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "Profile" }).waitFor();
  await page.getByRole("button", { name: "Sign out", exact: true }).waitFor();
  assert.equal(await banner.count(), 0, "no banner after the reload");
  await j.step(page, "still signed in after reload");

  // Tokens stay in memory: nothing that looks like one in web storage.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));
  assert.doesNotMatch(stored, /eyJ|token/i);

  // Signing out and in again with the password.
  await signOut(page);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("Email").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Welcome, Dana Scully" }).waitFor();
  await j.step(page, "signed in again");
  j.finish();
});
