// README's screenshots (docs/report.png, docs/serve.png): a page (a report.html, or the URL `lastframe serve`
// prints) in headless Chromium at 1280 CSS pixels, whole page, after its first polls, as a palette PNG.
//   npm run build && node dist/tools/screenshot.js <file.html|http://…> <out.png>
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { chromium } from "playwright-core";

const [target, out] = process.argv.slice(2);
if (!target || !out) {
  console.error("usage: node dist/tools/screenshot.js <file.html|http://…> <out.png>");
  process.exit(2);
}
const url = existsSync(target) ? pathToFileURL(resolve(target)).href : target;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
  headless: true,
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForTimeout(5000); // the dashboard polls every 2 s: its charts and images are in by then
  const png = await page.screenshot({ fullPage: true });
  await sharp(png).png({ palette: true }).toFile(out);
  console.error(`wrote ${out}`);
} finally {
  await browser.close();
}
