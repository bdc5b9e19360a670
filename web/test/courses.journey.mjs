// Journey 4: an admin publishes a course whose first lesson has a real (tiny WebM) video;
// a learner finds it with the filters, enrolls, plays the lesson (it plays, a seek lands,
// the position is kept across a reload), completes it and sees the progress change.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { uploadFile } from "@portal-api/client";
import { Journey, launch } from "./lib/browser.mjs";
import { makeAdmin, openNav, signUp } from "./lib/flows.mjs";
import { email, startPortal } from "./lib/server.mjs";

const ADMIN = email("admin");
const webm = readFileSync(new URL("./fixtures/lesson.webm", import.meta.url));
let portal;
let browser;
let courseId;
before(async () => {
  [portal, browser] = await Promise.all([startPortal({ settings: { ADMIN_EMAILS: ADMIN } }), launch()]);
  const admin = await makeAdmin(portal, ADMIN);
  const lessons = [
    { id: "l1", title: "Framing a shot", duration: 5, order: 1, content: "# Framing\n\nKeep the subject in the left third." },
    { id: "l2", title: "Editing", duration: 5, order: 2 },
  ];
  const created = await admin.api.POST("/api/v1/courses", {
    body: {
      title: "Video Basics",
      description: "Shooting and sharing short videos.",
      category: "tech",
      level: "beginner",
      instructor: { name: "Vic Reel" },
      lessons,
    },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  courseId = created.data.id;
  const video = await uploadFile(admin.api, { data: webm, fileName: "framing.webm", fileType: "video/webm", category: "course", courseId });
  const withVideo = lessons.map((l) => (l.id === "l1" ? { ...l, videoFileId: video.id } : l));
  const patched = await admin.api.PATCH("/api/v1/courses/{id}", { params: { path: { id: courseId } }, body: { lessons: withVideo } });
  assert.equal(patched.response.status, 200, JSON.stringify(patched.error));
});
after(async () => {
  await browser?.close();
  await portal?.stop();
});

/** The lesson's <video>'s state, read in the page. */
const state = (page) =>
  page.getByLabel("Video: Framing a shot").evaluate((v) => ({ t: v.currentTime, d: v.duration, paused: v.paused, error: v.error?.code ?? null }));

test("a learner enrolls, watches a lesson video (play, seek, resume) and completes it", async () => {
  const j = new Journey("courses");
  const page = await j.open(browser, "Lou", portal.baseUrl);
  await signUp(page, "Lou Learner", email("lou"));

  await openNav(page, "Courses");
  await page.getByLabel("Category").selectOption("tech");
  await page.getByLabel("Level").selectOption("beginner");
  await page.getByLabel("Search courses").fill("Video");
  await page.getByRole("button", { name: "Apply" }).click();
  const list = page.getByRole("list", { name: "Course list" });
  await list.getByRole("link", { name: "Video Basics" }).waitFor();
  await j.step(page, "catalog filtered");
  await list.getByRole("link", { name: "Video Basics" }).click();

  await page.getByRole("heading", { name: "Video Basics", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Enroll in this course" }).click();
  await page.getByRole("status").filter({ hasText: "You are enrolled." }).waitFor();
  await page.getByText("0% complete").waitFor();
  await page.getByText("1 enrolled").waitFor();
  await j.step(page, "enrolled");

  await page.getByRole("list", { name: "Lessons" }).getByRole("link", { name: "Framing a shot" }).click();
  await page.getByRole("heading", { name: "Framing a shot" }).waitFor();
  await page.getByText("Keep the subject in the left third.").waitFor();
  const video = page.getByLabel("Video: Framing a shot");
  await video.waitFor();
  await video.evaluate((v) => {
    v.muted = true;
    return v.play();
  });
  await page.waitForFunction(() => document.querySelector("video").currentTime > 0.5, null, { timeout: 15000 });
  assert.equal((await state(page)).error, null);
  await j.step(page, "video playing");

  // A seek lands where it was asked to.
  const landed = await video.evaluate(
    (v) =>
      new Promise((done) => {
        v.pause();
        v.addEventListener("seeked", () => done(v.currentTime), { once: true });
        v.currentTime = 2.5;
      }),
  );
  assert.ok(Math.abs(landed - 2.5) < 0.3, `seeked to ${landed}`);
  await j.step(page, "seeked");

  // The position was saved: a reload resumes there.
  await page.waitForTimeout(300);
  await page.reload();
  await page.getByText("Resuming at 2 s.").waitFor();
  await page.waitForFunction(() => document.querySelector("video")?.currentTime >= 1.9, null, { timeout: 10000 });
  await j.step(page, "resumed after reload");

  await page.getByRole("button", { name: "Mark lesson complete" }).click();
  await page.getByRole("status").filter({ hasText: "Course progress: 50%" }).waitFor();
  await j.step(page, "lesson completed");

  await page.getByRole("link", { name: "Back to the course" }).click();
  await page.getByText("50% complete").waitFor();
  await page.getByRole("list", { name: "Lessons" }).getByText("completed").waitFor();
  await page.getByLabel("Rate this course").selectOption("5");
  await page.getByRole("status").filter({ hasText: "rated 5.0 by 1 learner" }).waitFor();
  await page.getByText("rated 5.0").first().waitFor();
  await j.step(page, "course rated");
  await openNav(page, "My progress");
  const mine = page.getByRole("list", { name: "My courses" });
  await mine.getByRole("link", { name: "Video Basics" }).waitFor();
  assert.equal(await mine.getByRole("progressbar", { name: "Video Basics progress" }).getAttribute("value"), "50");
  await page.getByRole("heading", { name: "Achievements" }).waitFor();
  await j.step(page, "my progress");
  j.finish();
});
