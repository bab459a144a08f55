// The demo's report and the live dashboard in a real browser (Debian's /usr/bin/chromium through playwright-core):
// the report shows the eval table with the run's own numbers, its samples and both GIFs, with no console error and
// no request outside the page; `lastframe serve`, started beside a training run, draws a curve that gains points
// while the run trains, switches runs, and refuses paths out of its folders. Screenshots go to the test's temporary
// folder (kept with LASTFRAME_KEEP_SCREENSHOTS=1).
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Browser, type Page, chromium } from "playwright-core";
import { main } from "../../src/cli/main.js";
import { startServer } from "../../src/cli/serve.js";
import { formatNumber } from "../../src/report/markdown.js";

const bin = fileURLToPath(new URL("../../../bin/lastframe.js", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const root = mkdtempSync(join(tmpdir(), "lastframe-browser-"));
const runs = join(root, "runs");
const demo = join(runs, "demo");
const children: ChildProcess[] = [];
let browser: Browser;

/** Screenshots are kept (with the run folders) when LASTFRAME_KEEP_SCREENSHOTS=1; README's come from
 * tools/screenshot.ts. */
const keep = process.env.LASTFRAME_KEEP_SCREENSHOTS === "1";

/** A page that records console errors and warnings, page errors and failed requests. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url().slice(0, 80)}`));
  return { page, problems };
}

/** Runs in the page; a string because this project compiles without DOM typings. */
const inPage = <T>(page: Page, body: string) => page.evaluate(`(() => { ${body} })()`) as Promise<T>;

/** Polls a condition in the page (page.waitForFunction evaluates strings, which the dashboard's CSP forbids). */
async function waitFor(page: Page, condition: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await inPage<boolean>(page, `return ${condition};`))) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${condition}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is required: apt-get update && apt-get install -y chromium`);
  // The demo at a toy size: a finished run with samples.png, both GIFs, eval.json and report.html.
  const args = ["demo", "--preset", "tiny", "--steps", "3", "--batch", "4", "--eval-n", "64", "--out", demo];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    headless: true,
  });
});

after(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  if (keep) console.error(`screenshots: ${join(root, "report.png")} ${join(root, "serve.png")}`);
  else rmSync(root, { recursive: true, force: true });
});

test(
  "the demo's report shows its eval numbers, samples and both GIFs, without errors",
  { timeout: 120_000 },
  async () => {
    const { page, problems } = await openPage();
    const url = pathToFileURL(join(demo, "report.html")).href;
    page.on("request", (r) => {
      if (r.url() !== url && !r.url().startsWith("data:")) problems.push(`unexpected request: ${r.url()}`);
    });
    await page.goto(url, { waitUntil: "load" });
    const ev = JSON.parse(readFileSync(join(demo, "eval.json"), "utf8"));
    const table = await inPage<Record<string, string>>(
      page,
      `const t = [...document.querySelectorAll("h3")].find((h) => h.textContent === "Runs").nextElementSibling.nextElementSibling;
     const head = [...t.querySelectorAll("th")].map((th) => th.textContent);
     const cells = [...t.querySelectorAll("tbody tr:first-child td")].map((td) => td.textContent);
     return Object.fromEntries(head.map((h, i) => [h, cells[i]]));`,
    );
    const f = (v: number) => formatNumber(v, 4);
    assert.deepEqual(
      [table.run, table.model, table.spec, table.T, table.steps],
      ["demo", "vqvae", "blur-chain", "2", "6"], // 3 steps of the VQ-VAE, then 3 of the prior
    );
    assert.deepEqual(
      [table.FD, table.KID, table.precision, table.recall, table.bpd, table["bpd per frame"]],
      [
        f(ev.fd),
        f(ev.kid.mean),
        f(ev.pr.precision),
        f(ev.pr.recall),
        f(ev.bpd.last_bpd_given_true),
        ev.bpd.frame_bpd.map(f).join(" · "),
      ],
    );
    const images = await inPage<{ caption: string; w: number; shown: number; mime: string }[]>(
      page,
      `return [...document.querySelectorAll(".gallery figure")].map((fig) => {
       const img = fig.querySelector("img");
       return { caption: fig.querySelector("figcaption").textContent, w: img.complete ? img.naturalWidth : 0,
                shown: img.getBoundingClientRect().width, mime: img.src.slice(5, img.src.indexOf(";")) };
     });`,
    );
    assert.deepEqual(
      images.map((i) => [i.caption.split(":")[0], i.mime]),
      [
        ["samples.png", "image/png"],
        ["generated-videos.gif", "image/gif"],
        ["pseudo-videos.gif", "image/gif"],
      ],
    );
    for (const i of images) {
      assert.ok(i.w > 0, `${i.caption}: not loaded`);
      // Readable: small grids are scaled up by an integer, to about 480 CSS pixels.
      assert.ok(i.shown >= 350 && i.shown % i.w === 0, `${i.caption}: shown ${i.shown}px of ${i.w}`);
    }
    await page.screenshot({ path: join(root, "report.png"), fullPage: true });
    assert.deepEqual(problems, []);
  },
);

/** GET of a raw path (not normalised as a browser or `new URL` would): status and body. */
function get(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const u = new URL(url);
    request({ host: u.hostname, port: u.port, path }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => done({ status: res.statusCode!, body }));
    })
      .on("error", fail)
      .end();
  });
}

test(
  "lastframe serve: a live curve grows while a run trains, runs switch, paths out are refused",
  { timeout: 600_000 },
  async () => {
    const live = join(runs, "live");
    const train = spawn(
      process.execPath,
      [
        bin,
        "train",
        "--data",
        "mnist",
        "--limit",
        "200",
        "--model",
        "vqvae",
        "--preset",
        "tiny",
        "--spec",
        "blur-chain",
        "--frames",
        "2",
        "--steps",
        "60",
        "--batch",
        "4",
        "--eval-images",
        "16",
        "--quiet",
        "--out",
        live,
      ],
      { stdio: "ignore" },
    );
    children.push(train);
    const server = spawn(process.execPath, [bin, "serve", runs, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(server);
    const url = await new Promise<string>((done, fail) => {
      let out = "";
      server.stdout!.on("data", (d) => {
        out += d;
        const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
        if (m) done(m[1]!);
      });
      server.on("exit", (code) => fail(new Error(`serve exited with ${code}`)));
    });

    const { page, problems } = await openPage();
    await page.goto(url);
    const loss = `[data-key="train:loss"]`;
    const points = () => page.getAttribute(loss, "data-points").then(Number);
    const labels = () => page.locator(`${loss} .u-legend .u-label`).allTextContents();
    // The live run appears once it has written its first step.
    await waitFor(page, `document.querySelectorAll('#runs input[data-run="0/live"]').length === 1`, 300_000);
    await waitFor(page, `Number(document.querySelector('${loss}')?.dataset.points) > 6`, 300_000);
    const first = await points();
    assert.equal(train.exitCode, null, "the run finished before the page was read: make it longer");
    await waitFor(page, `Number(document.querySelector('${loss}').dataset.points) >= ${first + 3}`, 120_000);
    assert.equal(train.exitCode, null, "the curve grew while the run trained");
    assert.deepEqual((await labels()).slice(1), ["demo", "live"]);
    // The live run's sample grid appears once it has written one (samples/step-<step>.png).
    await waitFor(
      page,
      `document.querySelector('#samples figure[data-run="0/live"] img')?.naturalWidth > 0`,
      300_000,
    );
    assert.match(
      await page.locator('#samples figure[data-run="0/live"] figcaption').first().innerText(),
      /^live: latest sample grid: step-\d+\.png$/,
    );
    await page.screenshot({ path: join(root, "serve.png"), fullPage: true });

    // Switch: only the demo, with its eval row and its pictures.
    await page.locator(`#runs input[data-run="0/live"]`).uncheck();
    await waitFor(page, `document.querySelectorAll('${loss} .u-legend .u-label').length === 2`);
    assert.deepEqual(await labels(), ["step", "demo"]);
    const ev = JSON.parse(readFileSync(join(demo, "eval.json"), "utf8"));
    assert.equal(
      await page.locator(`#eval-table tr[data-run="0/demo"] td`).nth(1).textContent(),
      String(Number(ev.fd.toPrecision(4))),
    );
    await waitFor(
      page,
      `[...document.querySelectorAll('#samples figure img')].every((i) => i.complete && i.naturalWidth > 0)`,
    );
    assert.deepEqual(
      await inPage(
        page,
        `return [...document.querySelectorAll("#samples figure")].map((f) => f.dataset.run);`,
      ),
      ["0/demo", "0/demo", "0/demo"],
    );
    // And back: the live run's curve returns.
    await page.locator(`#runs input[data-run="0/live"]`).check();
    await waitFor(page, `document.querySelectorAll('${loss} .u-legend .u-label').length === 3`);

    // The dashboard itself ran without a console error or a failed request (the refusals below are deliberate).
    assert.deepEqual(problems, []);

    // Read-only, and only the given folder: its files are served, nothing above it.
    assert.equal(
      (await get(url, "/files/0/demo/eval.json")).body,
      readFileSync(join(demo, "eval.json"), "utf8"),
    );
    for (const path of [
      "/files/0/../../../etc/passwd",
      "/files/0/%2e%2e/%2e%2e/etc/passwd",
      "/files/0/demo/..%2f..%2f..%2fetc%2fpasswd",
      "/api/metrics?run=0/../..&offset=0",
    ])
      assert.equal((await get(url, path)).status, 403, path);
    assert.equal((await get(url, "/files/1/etc/passwd")).status, 404);
    symlinkSync("/etc", join(runs, "out"));
    assert.equal((await get(url, "/files/0/out/passwd")).status, 403);
    // A browser resolves the dots itself before asking (the request is for /etc/passwd, not a served path).
    const res = await page.goto(`${url}files/0/%2e%2e/%2e%2e/etc/passwd`);
    assert.equal(res!.status(), 404);
    const post = await page.request.post(`${url}api/runs`);
    assert.equal(post.status(), 405);
    train.kill("SIGTERM");
    server.kill("SIGTERM");
    await new Promise((done) => server.once("exit", done));
  },
);

/** Runs the CLI in-process; returns the exit code and what it printed on stderr. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  const saved = console.error;
  console.error = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    return { code: await main(args), stderr: lines.join("\n") };
  } finally {
    console.error = saved;
  }
}

test("lastframe serve: mistakes exit 2 with one line naming them", async () => {
  let r = await cli("serve");
  assert.deepEqual(
    [r.code, r.stderr],
    [2, "lastframe serve: Expected at least one runs or results folder for 'lastframe serve'"],
  );
  r = await cli("serve", join(root, "nope"));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^lastframe serve: \S+nope is not a folder: give run folders or results folders$/);
  const { server, url } = await startServer({ folders: [root], port: 0, host: "127.0.0.1", title: "t" });
  try {
    const port = new URL(url).port;
    r = await cli("serve", root, "--port", port);
    assert.deepEqual(
      [r.code, r.stderr],
      [2, `lastframe serve: cannot listen on --host 127.0.0.1 --port ${port}: EADDRINUSE`],
    );
  } finally {
    server.close();
  }
  r = await cli("serve", root, "--port", "70000");
  assert.deepEqual(
    [r.code, r.stderr],
    [2, "lastframe serve: Expected a port 0 … 65535 for --port but received 70000"],
  );
});
