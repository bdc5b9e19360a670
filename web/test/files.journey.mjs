// Journey 3: upload an avatar (progress shown); share a file, open the link signed out,
// revoke it and see it refused.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Journey, portalSuite } from "./lib/browser.mjs";
import { openNav, signUp } from "./lib/flows.mjs";
import { email } from "./lib/server.mjs";

const avatar = readFileSync(new URL("./fixtures/avatar.png", import.meta.url));
const suite = portalSuite();

test("avatar upload with progress; a share link opens signed out until revoked", async () => {
  const { portal, browser } = suite;
  const j = new Journey("files");
  const page = await j.open(browser, "Fay", portal.baseUrl);
  await signUp(page, "Fay Wray", email("fay"));

  await openNav(page, "Profile");
  await page.getByRole("heading", { name: "Profile" }).waitFor();
  await j.step(page, "profile");
  await page.getByLabel("Avatar image").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: avatar });
  await page.getByRole("status").filter({ hasText: "Your new avatar is saved." }).waitFor();
  const bar = page.getByRole("progressbar", { name: "Upload progress" });
  assert.equal(await bar.getAttribute("value"), "100");
  await page.getByRole("img", { name: "Fay Wray's avatar" }).waitFor();
  await j.step(page, "avatar uploaded");

  await openNav(page, "Files");
  await page.getByRole("heading", { name: "My files" }).waitFor();
  await page.getByLabel("Kind of file").selectOption("document");
  await page.getByLabel("Upload a file").setInputFiles({
    name: "notes.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("Lesson notes: practise every day.\n"),
  });
  await page.getByRole("status").filter({ hasText: "notes.txt is uploaded." }).waitFor();
  await page.getByRole("cell", { name: "notes.txt", exact: true }).waitFor();
  await j.step(page, "file uploaded");

  await page.getByRole("button", { name: "Share notes.txt" }).click();
  const shares = page.getByRole("group", { name: "Share links of notes.txt" });
  await shares.getByLabel("Expires after").selectOption("3600");
  await shares.getByLabel("Maximum downloads").fill("5");
  await shares.getByRole("button", { name: "Create share link" }).click();
  const link = shares.getByRole("link", { name: /\/shared\// });
  await link.waitFor();
  await shares.getByText("Used 0 of 5 times").waitFor();
  await j.step(page, "share link created");
  const href = await link.getAttribute("href");

  // Someone with no account opens it.
  const guest = await j.open(browser, "guest", portal.baseUrl);
  await guest.goto(href);
  await guest.getByText("notes.txt", { exact: true }).waitFor();
  const download = guest.getByRole("link", { name: "Download notes.txt" });
  await download.waitFor();
  const body = await (await fetch(new URL(await download.getAttribute("href"), portal.baseUrl))).text();
  assert.match(body, /practise every day/);
  await j.step(guest, "shared file opened signed out");

  // The owner sees the visit counted, and revokes.
  await page.getByRole("button", { name: "Share notes.txt" }).click();
  await page.getByRole("button", { name: "Share notes.txt" }).click();
  await shares.getByText("Used 1 of 5 times").waitFor();
  await shares.getByRole("button", { name: "Revoke link" }).click();
  await shares.getByText("No share links.").waitFor();
  await j.step(page, "share link revoked");

  // The browser logs the refusal this step expects.
  j.allow(/\/api\/v1\/share\//);
  await guest.reload();
  await guest.getByRole("alert").filter({ hasText: "no longer available" }).waitFor();
  await j.step(guest, "revoked link refused");
  j.finish();
});
