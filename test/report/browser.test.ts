/**
 * Opens a rendered sample report in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) and checks that it loads cleanly. Set LASTFRAME_KEEP_SCREENSHOTS=1 to keep the
 * screenshot (its path is printed as a test diagnostic).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { it } from "node:test";
import { chromium } from "playwright-core";
import { writeReport } from "../../src/report/html.js";
import { sampleReport } from "./sample.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

it("renders the report in headless Chromium without errors", { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    assert.fail(
      `Chromium is required for this test but ${CHROMIUM} is missing: install it with ` +
        "`apt-get update && apt-get install -y chromium`",
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "lastframe-browser-"));
  const keep = process.env.LASTFRAME_KEEP_SCREENSHOTS === "1";
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  try {
    const htmlPath = join(dir, "report.html");
    await writeReport(htmlPath, await sampleReport());
    const pageUrl = pathToFileURL(htmlPath).href;

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url().slice(0, 80)}`));
    page.on("request", (r) => {
      const url = r.url();
      if (url !== pageUrl && !url.startsWith("data:"))
        problems.push(`unexpected request: ${url.slice(0, 80)}`);
    });

    await page.goto(pageUrl, { waitUntil: "load" });

    // Runs in the page; a string because this project compiles without DOM typings.
    const info = (await page.evaluate(`(() => {
      const imgs = [...document.querySelectorAll("img")];
      const svgs = [...document.querySelectorAll(".chart svg")];
      return {
        title: document.title,
        scripts: document.querySelectorAll("script").length,
        imgs: imgs.map((i) => ({ complete: i.complete, w: i.naturalWidth, h: i.naturalHeight })),
        svgs: svgs.map((s) => ({ w: s.getBoundingClientRect().width, paths: s.querySelectorAll("path.series").length })),
        tables: document.querySelectorAll("table").length,
        details: document.querySelectorAll("details").length,
        overflowX: document.documentElement.scrollWidth > window.innerWidth,
      };
    })()`)) as {
      title: string;
      scripts: number;
      imgs: { complete: boolean; w: number; h: number }[];
      svgs: { w: number; paths: number }[];
      tables: number;
      details: number;
      overflowX: boolean;
    };
    assert.equal(info.title, "Pseudo-video ablation: noise vs. blur corruption");
    assert.equal(info.scripts, 0, "hostile strings must not become script elements");
    assert.equal(info.imgs.length, 3);
    for (const img of info.imgs) {
      assert.ok(img.complete && img.w > 0 && img.h > 0, `image not loaded: ${JSON.stringify(img)}`);
    }
    assert.deepEqual(
      info.svgs.map((s) => s.paths),
      [3, 3],
    );
    for (const s of info.svgs) assert.ok(s.w >= 300, `chart too narrow: ${s.w}px`);
    assert.equal(info.tables, 2);
    assert.equal(info.details, 2);
    assert.equal(info.overflowX, false, "page should not scroll horizontally");

    // <details> works without JS.
    const first = page.locator("details").first();
    assert.equal(await first.getAttribute("open"), null);
    await first.locator("summary").click();
    assert.equal(await first.getAttribute("open"), "");

    const shot = join(dir, "report.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok((await stat(shot)).size > 10_000);
    t.diagnostic(`screenshot: ${shot}${keep ? "" : " (deleted; set LASTFRAME_KEEP_SCREENSHOTS=1 to keep)"}`);

    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
});
