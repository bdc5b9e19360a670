// Journey 2: Ann finds Ben in the people directory and starts a conversation; Ben sees her
// message arrive live with her name and avatar, and sees her typing; Ann sees "Seen", and
// still sees it after a reload.
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Journey, portalSuite } from "./lib/browser.mjs";
import { openNav, signUp } from "./lib/flows.mjs";
import { email } from "./lib/server.mjs";

const avatar = readFileSync(new URL("./fixtures/avatar.png", import.meta.url));
const suite = portalSuite();

test("two people chat live: directory, message with name and avatar, typing, seen", async () => {
  const { portal, browser } = suite;
  const j = new Journey("chat");
  const ann = await j.open(browser, "Ann", portal.baseUrl);
  const ben = await j.open(browser, "Ben", portal.baseUrl);
  const benEmail = email("ben");
  await Promise.all([signUp(ann, "Ann Lee", email("ann")), signUp(ben, "Ben Okafor", benEmail)]);

  // Ann puts up a picture, so Ben can see it beside her messages.
  await openNav(ann, "Profile");
  await ann.getByLabel("Avatar image").setInputFiles({ name: "ann.png", mimeType: "image/png", buffer: avatar });
  await ann.getByRole("status").filter({ hasText: "Your new avatar is saved." }).waitFor();

  // Ben waits in his chat screen (his realtime channel is up).
  await openNav(ben, "Chat");
  await ben.getByText("No conversations yet.").waitFor();
  await j.step(ben, "ben empty chat");

  await openNav(ann, "People");
  await ann.getByLabel("Search people").fill("Ben");
  await ann.getByRole("button", { name: "Search", exact: true }).click();
  const results = ann.getByRole("list", { name: "Search results" });
  await results.getByText("Ben Okafor", { exact: true }).waitFor();
  await j.step(ann, "directory search");
  await results.getByRole("button", { name: "Message Ben Okafor" }).click();
  const annThread = ann.getByRole("region", { name: "Conversation with Ben Okafor" });
  await annThread.waitFor();
  await ann.getByLabel("Message", { exact: true }).fill("Hi Ben, shall we study together?");
  await ann.getByRole("button", { name: "Send", exact: true }).click();
  await annThread.getByRole("listitem", { name: "You: Hi Ben, shall we study together?" }).waitFor();

  // Ben: the conversation appears with Ann's name and an unread count, live.
  const conversations = ben.getByRole("navigation", { name: "Conversations" });
  await conversations.getByRole("link", { name: "Ann Lee" }).waitFor();
  await conversations.getByText("1 unread").waitFor();
  await j.step(ben, "conversation arrived with unread count");
  await conversations.getByRole("link", { name: "Ann Lee" }).click();
  const benThread = ben.getByRole("region", { name: "Conversation with Ann Lee" });
  const first = benThread.getByRole("listitem", { name: "Ann Lee: Hi Ben, shall we study together?" });
  await first.waitFor();
  await first.getByRole("img", { name: "Ann Lee's avatar" }).waitFor();

  // Ann sees that Ben read it.
  await annThread.getByText("Seen").waitFor();
  await j.step(ann, "seen");

  // Ann types: Ben sees it; her next message arrives live in the open thread.
  await ann.getByLabel("Message", { exact: true }).pressSequentially("Tomorrow at", { delay: 30 });
  await benThread.getByRole("status").filter({ hasText: "Ann Lee is typing…" }).waitFor();
  await j.step(ben, "ann is typing");
  await ann.getByLabel("Message", { exact: true }).pressSequentially(" 10?", { delay: 10 });
  await ann.getByRole("button", { name: "Send", exact: true }).click();
  const second = benThread.getByRole("listitem", { name: "Ann Lee: Tomorrow at 10?" });
  await second.waitFor();
  await second.getByRole("img", { name: "Ann Lee's avatar" }).waitFor();
  await j.step(ben, "message arrived live with name and avatar");
  await annThread.getByText("Seen").waitFor();
  await j.step(ann, "seen again");

  // A reload keeps it: the thread reads who has read what when it opens.
  await ann.reload();
  const reloaded = ann.getByRole("region", { name: "Conversation with Ben Okafor" });
  await reloaded.getByRole("listitem", { name: "You: Tomorrow at 10?" }).getByText("Seen").waitFor();
  await j.step(ann, "seen after reload");
  j.finish();
});
