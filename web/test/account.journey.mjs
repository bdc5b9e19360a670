// The account screens: preferences, two-factor (set up, then a sign-in that asks for the
// code), a magic-link sign-in, a password reset, sessions, notifications, the data export
// and deleting the account.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Journey, portalSuite } from "./lib/browser.mjs";
import { openNav, signOut, signUp } from "./lib/flows.mjs";
import { PASSWORD, email, linkIn } from "./lib/server.mjs";
import { totp } from "./lib/totp.mjs";

const suite = portalSuite();

test("settings, two-factor, magic link, password reset, export and account deletion", async () => {
  const { portal, browser } = suite;
  const j = new Journey("account");
  const page = await j.open(browser, "Mo", portal.baseUrl);
  const address = email("mo");
  await signUp(page, "Mo Settings", address);

  await openNav(page, "Settings");
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  await page.getByLabel("Email me news and updates").check();
  await page.getByLabel("Theme").selectOption("dark");
  await page.getByRole("button", { name: "Save preferences" }).click();
  await page.getByRole("status").filter({ hasText: "Preferences saved." }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
  await page.getByRole("list", { name: "Sessions" }).getByText("(this device)").waitFor();
  await j.step(page, "settings");

  // Two-factor: the secret goes into "the phone" (totp), its code turns it on.
  await page.getByRole("button", { name: "Set up two-factor" }).click();
  const secret = await page.getByLabel("Secret key").textContent();
  await page.getByLabel("Code from the app").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on two-factor" }).click();
  const codes = page.getByRole("region", { name: "Recovery codes" });
  await codes.waitFor();
  const recovery = (await codes.getByRole("listitem").allTextContents()).map((c) => c.trim());
  assert.ok(recovery.length >= 2, "recovery codes shown");
  await j.step(page, "two-factor on");

  await openNav(page, "Notifications");
  await page.getByRole("heading", { name: "Notifications" }).waitFor();
  await j.step(page, "notifications");

  // Signing in again asks for the code.
  await signOut(page);
  await page.getByLabel("Email").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Two-factor authentication" }).waitFor();
  await j.step(page, "mfa step");
  // A code of the next period: the one just used for setup may not be used twice.
  await page.getByLabel("Authentication code").fill(totp(secret, Date.now() + 30_000));
  await page.getByRole("button", { name: "Verify" }).click();
  const signedIn = await page
    .getByRole("heading", { name: "Welcome, Mo Settings" })
    .waitFor({ timeout: 5000 })
    .then(() => true, () => false);
  if (!signedIn) {
    // Outside the server's window for the next period: the current one then.
    j.allow(/mfa\/verify/);
    await page.getByLabel("Authentication code").fill(totp(secret));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Welcome, Mo Settings" }).waitFor();
  }

  await openNav(page, "Settings");
  await page.getByText("Two-factor authentication is on.").waitFor();

  // The data export is a download of JSON about this user.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download my data" }).click()]);
  const exported = readFileSync(await download.path(), "utf8");
  assert.match(exported, new RegExp(address.replace(/[.+]/g, "\\$&")));

  // Magic link: signed out, ask for a link, open it from the mailbox.
  await signOut(page);
  await page.getByLabel("Email").fill(address);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await page.getByRole("status").filter({ hasText: "sign-in link is on its way" }).waitFor();
  await j.step(page, "magic link requested");
  await page.goto(linkIn(await portal.mail(address, "magic-link"), "/magic-link"));
  // Two-factor is on: the link is the first factor, a recovery code the second.
  await page.getByRole("heading", { name: "Two-factor authentication" }).waitFor();
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(recovery[0]);
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("heading", { name: "Welcome, Mo Settings" }).waitFor();
  await j.step(page, "signed in by magic link");

  // Password reset from the sign-in page.
  await signOut(page);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill(address);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByRole("status").filter({ hasText: "reset link is on its way" }).waitFor();
  await page.goto(linkIn(await portal.mail(address, "password-reset"), "/reset-password"));
  const fresh = `${PASSWORD} renewed`;
  await page.getByLabel("New password").fill(fresh);
  await page.getByRole("button", { name: "Set password" }).click();
  await page.getByRole("status").filter({ hasText: "Your password is changed." }).waitFor();
  await j.step(page, "password reset");
  await page.getByRole("link", { name: "Sign in" }).last().click();
  await page.getByLabel("Email").fill(address);
  await page.getByLabel("Password").fill(fresh);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.getByLabel("Recovery code").fill(recovery[1]);
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("heading", { name: "Welcome, Mo Settings" }).waitFor();

  // Deleting the account signs out for good.
  await openNav(page, "Settings");
  page.once("dialog", (d) => d.accept());
  await page.getByLabel("Password to delete the account").fill(fresh);
  await page.getByRole("button", { name: "Delete my account" }).click();
  await page.getByRole("status").filter({ hasText: "Your account is deleted." }).waitFor();
  await j.step(page, "account deleted");
  const login = await portal.api("/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: address, password: fresh }),
  });
  assert.notEqual(login.status, 200, "the deleted account cannot sign in");
  j.finish();
});
