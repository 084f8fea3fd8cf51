// The /ui page in headless Chromium against a running `wagate local` on the simulated network:
// connect with a key, create a session, see the QR, scan it, see it open, send a text and
// see it sent, upload files and see them sent. Screenshots go to ARTIFACTS (default
// ../artifacts). Expects WAGATE_URL and WAGATE_KEY (scripts/ui-test.sh sets them).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.WAGATE_URL;
const key = process.env.WAGATE_KEY;
const artifacts = process.env.ARTIFACTS || new URL("../../artifacts/", import.meta.url).pathname;
mkdirSync(artifacts, { recursive: true });

test("a user links a session and sends from the page", { timeout: 90_000 }, async () => {
  assert.ok(base && key, "WAGATE_URL and WAGATE_KEY must be set");
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(base + "/ui");

    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Save and connect" }).click();
    await page.locator("#role", { hasText: "admin key" }).waitFor();
    // The live channel connects (Socket.IO from /ui/socket.io.min.js, no CDN).
    await page.locator("#live", { hasText: "live" }).waitFor({ timeout: 10_000 });

    await page.getByLabel("Session id (optional)").fill("ui-shop");
    await page.getByRole("button", { name: "Create session" }).click();
    const qr = page.getByRole("img", { name: "QR code to link ui-shop" });
    await qr.waitFor({ timeout: 15_000 });
    const src = await qr.getAttribute("src");
    assert.match(src, /^data:image\/svg\+xml;base64,/);
    await page.screenshot({ path: artifacts + "ui-qr.png", fullPage: true });

    await page.getByRole("button", { name: "Scan (simulated network)" }).click();
    await page.locator("#login-status", { hasText: "open" }).waitFor({ timeout: 15_000 });

    await page.getByLabel("Session", { exact: true }).selectOption("ui-shop");
    await page.getByLabel("To (phone or JID)").fill("628123456789");
    await page.getByLabel("Text", { exact: true }).fill("Hello from the browser");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.locator("#jobs .badge.sent").first().waitFor({ timeout: 20_000 });

    await page.getByLabel("Kind").selectOption("file");
    await page.getByLabel("Files", { exact: true }).setInputFiles([
      { name: "a.txt", mimeType: "text/plain", buffer: Buffer.from("first file") },
      { name: "b.txt", mimeType: "text/plain", buffer: Buffer.from("second file") },
    ]);
    await page.getByLabel("Delay between files (ms, 300–10000)").fill("300");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll("#jobs .badge.sent").length >= 3, null, { timeout: 30_000 });
    await page.screenshot({ path: artifacts + "ui-sent.png", fullPage: true });

    // The operator view: the sends went by in the live feed; one opens its job; the session's
    // queue and connection history are listed.
    const sentEvent = page.locator("#feed li", { hasText: "message_sent ui-shop" }).first();
    await sentEvent.waitFor({ timeout: 10_000 });
    await sentEvent.getByRole("button", { name: /^Show job / }).click();
    await page.locator("#job-detail", { hasText: '"status": "sent"' }).waitFor();
    const ops = page.locator('#ops tr[data-session="ui-shop"]');
    await ops.waitFor();
    assert.deepEqual(await ops.locator("td").allInnerTexts().then((t) => t.slice(1)), ["0", "—", "0", "—"]);

    // Who is on WhatsApp, through the session picked above.
    await page.getByLabel("Numbers to check (one per line, up to 50; through the session above)")
      .fill("628123456789\n9991234567");
    await page.getByRole("button", { name: "Check numbers" }).click();
    await page.locator("#checked li", { hasText: "628123456789: on WhatsApp" }).waitFor({ timeout: 15_000 });
    await page.locator("#checked li", { hasText: "9991234567: not on WhatsApp" }).waitFor();

    // A reaction, and a group whose second member's privacy refuses being added.
    await page.getByLabel("Message id (a send's waMessageId or a received messageId)").fill("3EB0INCOMING1");
    await page.getByRole("button", { name: 'React (in the chat "To" above)' }).click();
    await page.locator("#actions p", { hasText: "react:" }).locator(".badge.done").waitFor({ timeout: 20_000 });
    await page.getByLabel("Subject").fill("Browser group");
    await page.getByLabel("Members (one number per line)").fill("628123456789\n9975550001");
    await page.getByRole("button", { name: "Create group" }).click();
    await page.locator("#actions p", { hasText: "9975550001: privacy refused" }).waitFor({ timeout: 20_000 });
    await page.locator("#actions p", { hasText: "628123456789: ok" }).waitFor();

    // A bad request shows the API's own words, not a blank page.
    await page.getByLabel("Kind").selectOption("poll");
    await page.getByLabel("Question").fill("Only one option?");
    await page.getByLabel("Options (one per line)").fill("yes");
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.locator("#message", { hasText: "options" }).waitFor();

    // Admin: change the quota through the config editor; the page shows it in force.
    await page.getByLabel("Limits (JSON: rateLimit, quota, cooldownMs)").fill(
      JSON.stringify({ quota: { limit: 500, windowMs: 86400000 } }));
    await page.getByRole("button", { name: "Save limits" }).click();
    await page.locator("#config", { hasText: '"limit": 500' }).waitFor();

    // Phone-sized: everything fits the width, nothing scrolls sideways.
    await page.setViewportSize({ width: 375, height: 812 });
    await page.screenshot({ path: artifacts + "ui-phone.png", fullPage: true });
    const [overflow, wide] = await page.evaluate(() => [
      document.documentElement.scrollWidth - window.innerWidth,
      // The innermost elements that stick out, to say what to fix.
      [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .filter((e) => e.parentElement.getBoundingClientRect().right <= window.innerWidth + 0.5
          || ![...e.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 0.5))
        .slice(0, 5)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}: ${(e.textContent || "").slice(0, 60)}`),
    ]);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen: ${wide.join(" | ")}`);

    // Lists follow nextCursor: one session a page still shows every session.
    for (const id of ["ui-page-a", "ui-page-b"]) {
      const r = await fetch(base + "/api/sessions", { method: "POST",
        headers: { "X-API-Key": key, "Content-Type": "application/json" }, body: JSON.stringify({ sessionId: id }) });
      assert.equal(r.status, 201);
    }
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(base + "/ui?pageSize=1");
    for (const id of ["ui-shop", "ui-page-a", "ui-page-b"]) {
      await page.locator("#sessions td", { hasText: new RegExp("^" + id + "$") }).waitFor({ timeout: 10_000 });
    }

    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
