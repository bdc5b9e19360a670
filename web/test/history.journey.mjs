// Chat history and attachments: a long conversation opens at its newest messages, scrolling
// to the top loads the older ones; a file sent with a message can be opened by the other.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Journey, launch } from "./lib/browser.mjs";
import { apiSignUp, openNav, signIn } from "./lib/flows.mjs";
import { email, startPortal } from "./lib/server.mjs";

const COUNT = 45;
let portal;
let browser;
let kim;
before(async () => {
  [portal, browser] = await Promise.all([startPortal(), launch()]);
  kim = { email: email("kim") };
  const joe = await apiSignUp(portal, "Joe Writer", email("joe"));
  const me = await apiSignUp(portal, "Kim Reader", kim.email);
  const auth = { authorization: `Bearer ${joe.token}`, "content-type": "application/json" };
  const made = await portal.api("/api/v1/conversations", {
    method: "POST",
    headers: auth,
    body: JSON.stringify({ type: "direct", participantIds: [me.user.id] }),
  });
  const { id } = await made.json();
  for (let i = 1; i <= COUNT; i++) {
    const sent = await portal.api(`/api/v1/conversations/${id}/messages`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ clientMessageId: `m-${i}`, text: `Note number ${i}` }),
    });
    assert.equal(sent.status, 201);
  }
});
after(async () => {
  await browser?.close();
  await portal?.stop();
});

test("older messages load on scrolling up; an attachment goes both ways", async () => {
  const j = new Journey("history");
  const page = await j.open(browser, "Kim", portal.baseUrl);
  await signIn(page, kim.email);
  await openNav(page, "Chat");
  await page.getByRole("navigation", { name: "Conversations" }).getByRole("link", { name: "Joe Writer" }).click();
  const thread = page.getByRole("region", { name: "Conversation with Joe Writer" });
  await thread.getByRole("listitem", { name: `Joe Writer: Note number ${COUNT}` }).waitFor();
  assert.equal(await thread.getByRole("listitem", { name: "Joe Writer: Note number 1", exact: true }).count(), 0, "the first page is the newest");
  await j.step(page, "newest messages");

  // Scrolling to the top brings the rest, until the start.
  await thread.getByRole("list", { name: "Messages" }).evaluate((el) => (el.scrollTop = 0));
  await thread.getByRole("listitem", { name: "Joe Writer: Note number 1", exact: true }).waitFor();
  await thread.getByText("The conversation starts here.").waitFor();
  await j.step(page, "older messages loaded");

  await page.getByLabel("Message", { exact: true }).fill("Here are my notes");
  await page.getByLabel("Attach a file").setInputFiles({ name: "kim-notes.txt", mimeType: "text/plain", buffer: Buffer.from("Kim's notes\n") });
  await page.getByRole("button", { name: "Send", exact: true }).click();
  const mine = thread.getByRole("listitem", { name: "You: Here are my notes" });
  await mine.getByRole("button", { name: "kim-notes.txt" }).waitFor();
  await j.step(page, "attachment sent");
  const [download] = await Promise.all([page.waitForEvent("download"), mine.getByRole("button", { name: "kim-notes.txt" }).click()]);
  assert.match(readFileSync(await download.path(), "utf8"), /Kim's notes/);
  j.finish();
});
