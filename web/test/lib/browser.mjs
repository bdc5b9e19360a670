// Chromium for the journeys: Debian's binary driven by playwright-core (no browser
// download), headless, with the flags that keep it off the network. Each journey gets a
// `Journey` that numbers its screenshots, runs axe on every screen it records, and collects
// console errors and page errors, so `finish()` can fail on any.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import { startPortal, webRoot } from "./server.mjs";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const artifacts = resolve(webRoot, "..", "target", "test-artifacts", "browser");

/**
 * A journey file's handler and browser, started before its tests and stopped after them:
 * `const suite = portalSuite({ settings })`, then `suite.portal` and `suite.browser` in the
 * tests.
 */
export function portalSuite(options = {}) {
  const suite = { portal: undefined, browser: undefined };
  before(async () => {
    [suite.portal, suite.browser] = await Promise.all([startPortal(options), launch()]);
  });
  after(async () => {
    await suite.browser?.close();
    await suite.portal?.stop();
  });
  return suite;
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      // The journeys play a video without a user gesture.
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
}

export class Journey {
  #step = 0;
  #errors = [];
  #violations = [];
  #allowed = [];
  #foreign = [];

  /** `name`: the folder of this journey's screenshots. */
  constructor(name) {
    this.name = name;
    this.dir = join(artifacts, name);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  /** A new context (its own cookies: another person) and page, watched for errors. */
  async open(browser, who, baseUrl) {
    const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (this.#isForeign(page)) return;
      const text = `${m.text()} ${m.location().url}`;
      if (m.type() === "error" && !this.#allowed.some((re) => re.test(text))) this.#errors.push(`${who} console: ${m.text()} (${m.location().url})`);
    });
    page.on("pageerror", (e) => {
      if (!this.#isForeign(page)) this.#errors.push(`${who} page error: ${e.message}`);
    });
    page.who = who;
    return page;
  }

  /**
   * Accepts console errors matching `pattern` from now on: the browser logs every refused
   * request, and some refusals are what a step checks (a revoked share link).
   */
  allow(pattern) {
    this.#allowed.push(pattern);
  }

  /**
   * Pages of `origin` (an OpenID provider's) are not the app's: their console messages and
   * page errors are not checked, and axe does not run on them (their screenshots are taken).
   */
  foreign(origin) {
    this.#foreign.push(new URL(origin).origin);
  }

  #isForeign(page) {
    try {
      return this.#foreign.includes(new URL(page.url()).origin);
    } catch {
      return false;
    }
  }

  /** Records a step: an axe check of the screen as it is now (the app's), and a screenshot. */
  async step(page, label) {
    this.#step += 1;
    const file = `${String(this.#step).padStart(2, "0")}-${label.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`;
    await page.screenshot({ path: join(this.dir, file), fullPage: true });
    if (!this.#isForeign(page)) await this.axe(page, label);
  }

  async axe(page, label) {
    await page.evaluate(axeSource);
    const results = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
    });
    for (const v of results) {
      if (v.impact === "serious" || v.impact === "critical") {
        this.#violations.push(`${page.who} on "${label}" (${page.url()}): ${v.impact} ${v.id} — ${v.help} at ${v.nodes.join(", ")}`);
      }
    }
  }

  /** Fails the journey on any console error, page error or serious accessibility violation. */
  finish() {
    assert.deepEqual(this.#violations, [], "accessibility violations (serious or critical)");
    assert.deepEqual(this.#errors, [], "console errors");
  }
}
