// The public catalog with its filters, on the seeded courses (`handler seed`), and admin
// authoring by a bootstrap admin (ADMIN_EMAILS).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Session, type components, type paths } from "../src/index.js";
import { startHandler, type RunningHandler } from "../tools/handler.mjs";
import { PASSWORD, email } from "./helpers.js";

const ADMIN = email("admin");
let handler: RunningHandler;
let anonymous: Session;
before(async () => {
  handler = await startHandler({ seed: true, settings: { ADMIN_EMAILS: ADMIN } });
  anonymous = new Session({ baseUrl: handler.baseUrl });
});
after(async () => {
  await handler?.stop();
});

type CourseQuery = NonNullable<paths["/api/v1/courses"]["get"]["parameters"]["query"]>;

/** Follows the verification link the local mailbox holds for `to`. */
async function verifyEmail(to: string) {
  for (let i = 0; i < 100; i++) {
    const box = await fetch(`${handler.baseUrl}/api/dev/mailbox?to=${encodeURIComponent(to)}`);
    const { items } = (await box.json()) as { items: { kind: string; text: string }[] };
    const mail = items.find((m) => m.kind === "verification");
    if (mail) {
      const token = mail.text.split("token=")[1].split(/\s/)[0];
      const verified = await fetch(`${handler.baseUrl}/api/v1/auth/verify-email?token=${token}`);
      assert.equal(verified.status, 200);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`no verification email for ${to}`);
}

async function titles(query: CourseQuery) {
  const { data, response } = await anonymous.api.GET("/api/v1/courses", { params: { query } });
  assert.equal(response.status, 200);
  return data!.items.map((c) => c.title).sort();
}

test("the seeded catalog filters by category, level and search words", async () => {
  assert.deepEqual(await titles({ category: "tech" }), ["Computer Essentials", "Introduction to Spreadsheets"]);
  assert.deepEqual(await titles({ level: "intermediate" }), ["GED Math Prep", "Introduction to Spreadsheets"]);
  assert.deepEqual(await titles({ category: "tech", level: "beginner" }), ["Computer Essentials"]);
  assert.deepEqual(await titles({ search: "BUDGET" }), ["Budgeting 101"]);
  assert.deepEqual(await titles({ category: "education", level: "advanced" }), []);
});

test("the catalog pages with limit and nextCursor", async () => {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const { data } = await anonymous.api.GET("/api/v1/courses", { params: { query: { limit: 4, cursor } } });
    assert.ok(data!.items.length <= 4);
    seen.push(...data!.items.map((c) => c.id));
    cursor = data!.nextCursor ?? undefined;
    pages += 1;
  } while (cursor && pages < 10);
  assert.equal(pages, 2);
  assert.equal(new Set(seen).size, 6, "six seeded courses, none twice");
});

test("an unknown filter value is a typed validation problem", async () => {
  const { response, error } = await anonymous.api.GET("/api/v1/courses", {
    // Not one of the document's values, so the types refuse it: sent anyway, as a page could.
    params: { query: { category: "cooking" as CourseQuery["category"] } },
  });
  assert.equal(response.status, 400);
  assert.equal(error?.code, "VALIDATION_FAILED");
  assert.ok(error?.errors?.category?.length, "names the field");
});

test("a bootstrap admin creates a course, which the filters find at once; a user may not", async () => {
  const admin = new Session({ baseUrl: handler.baseUrl });
  // The configured address is a plain user until it is verified; verifying grants the role.
  assert.equal((await admin.signUp({ email: ADMIN, password: PASSWORD, name: "Admin" })).role, "user");
  await verifyEmail(ADMIN);
  const me = await admin.api.GET("/api/v1/users/me");
  assert.equal(me.data?.role, "admin");
  const input: components["schemas"]["CourseInput"] = {
    title: "Typed Clients",
    description: "Calling an API with the types its OpenAPI document gives.",
    category: "tech",
    level: "advanced",
    instructor: { name: "Ada" },
    lessons: [{ id: "l1", title: "Generate", duration: 10, order: 1 }],
  };
  const created = await admin.api.POST("/api/v1/courses", { body: input });
  assert.equal(created.response.status, 201);
  assert.equal(created.data?.title, "Typed Clients");
  assert.equal(created.data?.lessonCount, 1);
  assert.deepEqual(await titles({ category: "tech", level: "advanced" }), ["Typed Clients"]);
  const one = await anonymous.api.GET("/api/v1/courses/{id}", { params: { path: { id: created.data!.id } } });
  assert.equal(one.data?.title, "Typed Clients");

  const user = new Session({ baseUrl: handler.baseUrl });
  await user.signUp({ email: email("learner"), password: PASSWORD, name: "Learner" });
  const refused = await user.api.POST("/api/v1/courses", { body: { ...input, title: "Nope" } });
  assert.equal(refused.response.status, 403);
  assert.deepEqual(await titles({ search: "nope" }), []);
});
