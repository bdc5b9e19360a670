// The committed src/openapi.ts is what openapi-typescript makes of the running handler's
// /api/openapi.json today: any change to the API without `npm run generate` fails here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { run } from "../tools/generate.mjs";

test("src/openapi.ts matches the handler's OpenAPI document", async () => {
  const { changed, generated, committed } = await run({ check: true });
  if (changed) {
    const a = committed.split("\n");
    const b = generated.split("\n");
    const at = b.findIndex((line: string, i: number) => line !== a[i]);
    assert.fail(
      `src/openapi.ts is out of date; first difference at line ${at + 1}:\n` +
        `  committed: ${a[at]}\n  generated: ${b[at]}\n` +
        "run `npm run generate` in clients/typescript and commit it",
    );
  }
  assert.ok(generated.includes('"/api/v1/auth/refresh"'), "the document has the auth routes");
});
