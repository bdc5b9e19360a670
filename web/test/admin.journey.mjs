// Journey 5: an admin reviews a submitted form (status change, seen in the audit trail),
// downloads the CSV export and looks at the dashboard chart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Journey, launch } from "./lib/browser.mjs";
import { apiSignUp, makeAdmin, openNav, signIn } from "./lib/flows.mjs";
import { PASSWORD, email, linkIn, startPortal } from "./lib/server.mjs";

const ADMIN = email("admin");
const SENDER = email("sender");
const webm = readFileSync(new URL("./fixtures/lesson.webm", import.meta.url));
let portal;
let browser;
let conversationId;
before(async () => {
  [portal, browser] = await Promise.all([startPortal({ settings: { ADMIN_EMAILS: ADMIN } }), launch()]);
  const admin = await makeAdmin(portal, ADMIN);
  const uma = await apiSignUp(portal, "Uma User", email("uma"));
  const talk = await admin.api.POST("/api/v1/conversations", { body: { type: "direct", participantIds: [uma.user.id] } });
  conversationId = talk.data.id;
});
after(async () => {
  await browser?.close();
  await portal?.stop();
});

test("an admin reviews a form, sees the audit trail, exports CSV and sees the chart", async () => {
  const j = new Journey("admin");
  // Someone without an account writes in through the contact page.
  const guest = await j.open(browser, "Sam", portal.baseUrl);
  await guest.goto("/");
  await guest.getByRole("link", { name: "Contact us" }).click();
  await guest.getByLabel("Your name").fill("Sam Sender");
  await guest.getByLabel("Your email").fill(SENDER);
  await guest.getByLabel("Subject").fill("Evening classes");
  await guest.getByLabel("Message").fill("Do you run evening classes?");
  await j.step(guest, "contact form");
  await guest.getByRole("button", { name: "Send message" }).click();
  await guest.getByRole("status").filter({ hasText: "we received your message" }).waitFor();
  const page = await j.open(browser, "Ada", portal.baseUrl);
  await signIn(page, ADMIN);
  await openNav(page, "Admin");
  await page.getByRole("heading", { name: "Admin dashboard" }).waitFor();
  const chart = page.getByRole("img", { name: "Sign-ups per day, last 14 days" });
  await chart.waitFor();
  assert.ok((await chart.locator("rect").count()) >= 14, "one bar per day");
  await page.getByRole("definition").first().waitFor();
  await j.step(page, "dashboard chart");
  await page.getByLabel("Metric").selectOption("forms");
  await page.getByRole("img", { name: "Form submissions per day, last 14 days" }).waitFor();
  await j.step(page, "dashboard forms chart");

  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Forms" }).click();
  await page.getByRole("heading", { name: "Forms", exact: true }).waitFor();
  await page.getByLabel("Type").selectOption("contact");
  const row = page.getByRole("link", { name: `Sam Sender (${SENDER})` });
  await row.waitFor();
  await j.step(page, "forms list");

  // The CSV export is a real download with the submission in it.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
  assert.equal(download.suggestedFilename(), "forms-contact.csv");
  const csv = readFileSync(await download.path(), "utf8");
  assert.match(csv, new RegExp(SENDER.replace(/[.+]/g, "\\$&")));

  await row.click();
  await page.getByRole("heading", { name: "contact form from Sam Sender" }).waitFor();
  await page.getByText("No changes yet.").waitFor();
  await page.getByLabel("Review status").selectOption("reviewed");
  await page.getByRole("button", { name: "Save review" }).click();
  await page.getByRole("status").filter({ hasText: "The review is saved." }).waitFor();
  await page.getByRole("list", { name: "Audit trail" }).getByText("status: pending → reviewed").waitFor();
  await j.step(page, "status changed with audit");

  await page.getByRole("link", { name: "All forms" }).click();
  await page.getByLabel("Status").selectOption("reviewed");
  await page.getByRole("cell", { name: "reviewed" }).waitFor();
  await j.step(page, "forms filtered by status");
  j.finish();
});

test("an admin changes a role, authors a course with a video, and looks up archives", async () => {
  const j = new Journey("authoring");
  const page = await j.open(browser, "Ada", portal.baseUrl);
  await signIn(page, ADMIN);
  await openNav(page, "Admin");
  const admin = page.getByRole("navigation", { name: "Admin" });

  await admin.getByRole("link", { name: "Users" }).click();
  await page.getByLabel("Search users").fill("Uma");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByRole("cell", { name: "Uma User", exact: true }).waitFor();
  await page.getByLabel("Role of Uma User").selectOption("mentor");
  await page.getByRole("status").filter({ hasText: "Uma User is now mentor, active." }).waitFor();
  await j.step(page, "users role changed");

  await admin.getByRole("link", { name: "Course authoring" }).click();
  await page.getByLabel("Title").fill("Cooking on a Budget");
  await page.getByLabel("Description").fill("Good meals for little money.");
  await page.getByLabel("Category").selectOption("life-skills");
  await page.getByLabel("Instructor").fill("Pat Pan");
  await j.step(page, "new course form");
  await page.getByRole("button", { name: "Create course" }).click();
  await page.getByRole("heading", { name: "Edit Cooking on a Budget" }).waitFor();
  await page.getByLabel("Upload course media").setInputFiles({ name: "knife-skills.webm", mimeType: "video/webm", buffer: webm });
  await page.getByRole("status").filter({ hasText: "knife-skills.webm is uploaded." }).waitFor();
  await page.getByLabel("Lesson 1 video").selectOption({ label: "knife-skills.webm" });
  await page.getByLabel("Lesson 1 title").fill("Knife skills");
  await page.getByRole("button", { name: "Save course" }).click();
  await page.getByRole("status").filter({ hasText: "The course is saved." }).waitFor();
  await j.step(page, "course saved with video");
  await page.getByRole("link", { name: "See the course page" }).click();
  await page.getByRole("list", { name: "Lessons" }).getByText("Knife skills").waitFor();

  // An invite by email: the link opens the sign-up with the address filled in.
  const invited = email("ivy");
  await openNav(page, "Admin");
  await admin.getByRole("link", { name: "Users" }).click();
  await page.getByLabel("Email to invite").fill(invited);
  await page.getByLabel("Invited role").selectOption("mentor");
  await page.getByRole("button", { name: "Send invite" }).click();
  await page.getByRole("status").filter({ hasText: `Invite sent to ${invited}` }).waitFor();
  await j.step(page, "invite sent");
  const ivy = await j.open(browser, "Ivy", portal.baseUrl);
  await ivy.goto(linkIn(await portal.mail(invited, "invite"), "/signup"));
  await ivy.getByRole("status").filter({ hasText: `You were invited as ${invited}` }).waitFor();
  assert.equal(await ivy.getByLabel("Email").inputValue(), invited);
  await ivy.getByLabel("Name").fill("Ivy Invited");
  await ivy.getByLabel("Password").fill(PASSWORD);
  await j.step(ivy, "invited sign-up");
  await ivy.getByRole("button", { name: "Create account" }).click();
  await ivy.getByRole("heading", { name: "Welcome, Ivy Invited" }).waitFor();

  await openNav(page, "Admin");
  await admin.getByRole("link", { name: "Archives" }).click();
  await page.getByLabel("Conversation id").fill(conversationId);
  await page.getByRole("button", { name: "List archives" }).click();
  await page.getByRole("status").filter({ hasText: "no archived messages" }).waitFor();
  await j.step(page, "archives");
  j.finish();
});
