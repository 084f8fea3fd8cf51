// The API docs page (/docs, Swagger UI served from the binary) in headless Chromium: every
// operation is listed, the page loads nothing from outside, and "try it" with an API key
// calls the server. Expects WAGATE_URL and WAGATE_KEY (scripts/ui-test.sh sets them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.WAGATE_URL;
const key = process.env.WAGATE_KEY;
const artifacts = process.env.ARTIFACTS || new URL("../../artifacts/", import.meta.url).pathname;
mkdirSync(artifacts, { recursive: true });

test("the docs page lists every operation and tries one with a key", { timeout: 60_000 }, async () => {
  assert.ok(base && key, "WAGATE_URL and WAGATE_KEY must be set");
  const spec = await (await fetch(base + "/openapi.json")).json();
  const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  assert.ok(operations >= 80, `only ${operations} operations in the spec`);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const outside = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith("data:")) outside.push(r.url());
    });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(base + "/docs/");
    await page.locator(".swagger-ui .info .title", { hasText: "wagate" }).waitFor({ timeout: 20_000 });
    await page.waitForFunction((n) => document.querySelectorAll(".opblock").length >= n, operations,
      { timeout: 20_000 });
    await page.screenshot({ path: artifacts + "docs.png" });

    // Authorize with the key, then try GET /api/sessions.
    await page.getByRole("button", { name: /Authorize/ }).first().click();
    await page.locator(".modal-ux input[type=text]").fill(key);
    await page.locator(".modal-ux button.authorize").click();
    await page.locator(".modal-ux button.btn-done").click();
    const op = page.locator("#operations-sessions-sessions_list");
    await op.locator(".opblock-summary").click();
    await op.getByRole("button", { name: "Execute" }).click();
    const code = op.locator(".live-responses-table tr.response .response-col_status").first();
    await code.waitFor({ timeout: 10_000 });
    assert.equal((await code.innerText()).trim(), "200");
    await page.screenshot({ path: artifacts + "docs-try.png" });

    assert.deepEqual(outside, [], "the page fetched from outside the server");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
