import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  detectImageMime,
  renderReport,
  safeJson,
  writeReport,
  type ReportData,
} from "../../src/report/html.js";
import { HOSTILE, sampleReport } from "./sample.js";

const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;

describe("renderReport", () => {
  it("renders all sections self-contained", async () => {
    const html = renderReport(await sampleReport());
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.match(
      html,
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:;/,
    );
    for (const id of ["summary", "results", "charts", "samples", "runs"])
      assert.ok(html.includes(`<section id="${id}">`), id);
    // Every src/href is a data URI or an in-page anchor: no external requests.
    for (const m of html.matchAll(/\s(?:src|href)="([^"]*)"/g)) assert.match(m[1]!, /^(data:|#)/);
    assert.equal(count(html, /<link\b/g), 0);
    assert.equal(count(html, /src="data:image\/png;base64,/g), 2);
    assert.equal(count(html, /src="data:image\/gif;base64,/g), 1);
    assert.equal(count(html, /<svg /g), 2);
    assert.equal(count(html, /<path class="series"/g), 6);
    assert.equal(count(html, /<details/g), 2);
    assert.equal(count(html, /<table>/g), 2);
    // Numbers are right-aligned and formatted, mean ± std strings too.
    assert.ok(html.includes(`<td class="num">12.1</td>`));
    assert.ok(html.includes(`<td class="num">12.500 ± 0.566</td>`));
    assert.ok(html.includes(`<td class="num">9.700 ± —</td>`));
    assert.ok(html.includes("Generated 2025-01-02T03:04:05.000Z"));
  });

  it("escapes text everywhere (captions, tables, config, run names)", async () => {
    const html = renderReport(await sampleReport());
    assert.equal(count(html, /<script/gi), 0);
    assert.equal(count(html, /<img src=x/gi), 0);
    const escaped = "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";
    // summary, table caption, chart caption, image caption (text + alt), run name.
    assert.ok(count(html, new RegExp(escaped.replace(/[()]/g, "\\$&"), "g")) >= 6);
    // Config JSON: its own HTML-looking content cannot close the <pre>/<details>.
    assert.ok(html.includes("&lt;/code&gt;&lt;/pre&gt;&lt;/details&gt;"));
    assert.ok(html.includes("&quot;big&quot;: &quot;10n&quot;"));
    assert.ok(html.includes("&quot;inf&quot;: &quot;Infinity&quot;"));
  });

  it("embeds raw SVG strings as images so their markup cannot run", () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`;
    const html = renderReport({ title: "t", charts: [{ svg, title: "raw <b>" }] });
    assert.equal(count(html, /<script/gi), 0);
    assert.ok(html.includes(`src="data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}"`));
    assert.ok(html.includes(`<h3>raw &lt;b&gt;</h3>`));
  });

  it("renders a minimal report and validates input", () => {
    const html = renderReport({ title: "Only a title" });
    assert.ok(html.includes("<title>Only a title</title>"));
    assert.throws(() => renderReport({} as ReportData), {
      message: "Expected string for title but received undefined (undefined)",
    });
    assert.throws(
      () => renderReport({ title: "t", tables: [{ title: "x", columns: ["a"], rows: [[1, 2]] }] }),
      {
        message: "Expected tables[0].rows[0] to have 1 cells (one per column) but received 2",
      },
    );
    assert.throws(
      () =>
        renderReport({
          title: "t",
          galleries: [{ title: "g", images: [{ data: new Uint8Array([1, 2, 3]) }] }],
        }),
      { message: "Could not detect the image type of galleries[0].images[0].data; pass mime explicitly" },
    );
  });

  it("writes atomically", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lastframe-html-"));
    try {
      const path = join(dir, "report.html");
      await writeReport(path, { title: `a & b ${HOSTILE}` });
      const text = await readFile(path, "utf8");
      assert.ok(text.includes("<h1>a &amp; b &lt;script&gt;"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("helpers", () => {
  it("detects image types and serialises awkward JSON", () => {
    assert.equal(detectImageMime(Buffer.from("GIF89a")), "image/gif");
    assert.equal(detectImageMime(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10])), "image/png");
    assert.equal(detectImageMime(new Uint8Array(2)), undefined);
    const cyc: Record<string, unknown> = {
      a: 1,
      f: () => 1,
      m: new Map([["k", 2]]),
      t: new Float32Array([0.5]),
    };
    cyc.self = cyc;
    assert.equal(safeJson(cyc, 0), '{"a":1,"m":{"k":2},"t":[0.5],"self":"[Circular]"}');
    const m = new Map<string, unknown>([["v", 1]]);
    m.set("self", m);
    assert.equal(safeJson(m, 0), '{"v":1,"self":"[Circular]"}');
    const shared = { x: 1 };
    assert.equal(safeJson({ a: shared, b: [shared] }, 0), '{"a":{"x":1},"b":[{"x":1}]}');
  });
});
