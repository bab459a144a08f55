import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { escapeXml, formatTick, lineChart } from "../../src/report/svg.js";
import { checkWellFormed } from "./xml-check.js";

const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;
const seriesPaths = (svg: string): string[] =>
  [...svg.matchAll(/<path class="series"([^>]*)\/>/g)].map((m) => m[1]!);
const labels = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe("lineChart", () => {
  it("is well-formed and has one path per series, a legend, title and axis labels", () => {
    const svg = lineChart({
      title: "Training loss",
      xLabel: "step",
      yLabel: "loss",
      series: [
        { name: "train", x: [0, 100, 200, 300], y: [1.0, 0.6, 0.4, 0.3] },
        { name: "val", x: [0, 100, 200, 300], y: [1.1, 0.7, 0.5, 0.45], dashed: true },
        { name: "ema", y: [0.9, 0.8, 0.7, 0.6] },
      ],
    });
    checkWellFormed(svg);
    assert.match(
      svg,
      /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 640 360" width="640" height="360"/,
    );
    assert.equal(seriesPaths(svg).length, 3);
    assert.equal(count(svg, /<path/g), 3);
    const text = labels(svg);
    for (const l of ["Training loss", "step", "loss", "train", "val", "ema", "0", "100", "200", "300"]) {
      assert.ok(text.includes(l), `missing label ${l}: ${text.join(" | ")}`);
    }
    assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
  });

  it("breaks lines at missing points and draws isolated points as dots", () => {
    const svg = lineChart({
      series: [{ name: "a", y: [1, 2, NaN, 4, 5, null, 7, undefined, Infinity] }],
      markers: false,
    });
    checkWellFormed(svg);
    const [attrs] = seriesPaths(svg);
    const d = /d="([^"]*)"/.exec(attrs!)![1]!;
    assert.equal(count(d, /M/g), 2, d); // [1,2] and [4,5]; 7 is isolated
    assert.equal(count(d, /L/g), 2, d);
    assert.equal(count(svg, /<circle/g), 1);
    assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
  });

  it("renders a single point as a dot with sensible axes", () => {
    const svg = lineChart({ series: [{ name: "only", x: [5], y: [0.25] }] });
    checkWellFormed(svg);
    assert.equal(seriesPaths(svg).length, 1);
    assert.doesNotMatch(seriesPaths(svg)[0]!, / d=/);
    assert.equal(count(svg, /<circle/g), 1);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  });

  it("supports a log y axis (non-positive values are missing)", () => {
    const svg = lineChart({
      logY: true,
      yLabel: "loss",
      series: [{ name: "l", y: [1, 0.1, 0, -1, 0.01, 0.001] }],
    });
    checkWellFormed(svg);
    const text = labels(svg);
    for (const l of ["0.001", "0.01", "0.1", "1", "loss (log)"])
      assert.ok(text.includes(l), `missing ${l}: ${text.join(" | ")}`);
    const d = /d="([^"]*)"/.exec(seriesPaths(svg)[0]!)![1]!;
    assert.equal(count(d, /M/g), 2);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  });

  it("uses 1-2-5 ticks on a narrow log range", () => {
    const svg = lineChart({ logY: true, series: [{ name: "l", y: [0.3, 0.25, 0.12] }] });
    const text = labels(svg);
    assert.ok(text.includes("0.2"), text.join(" | "));
  });

  it("handles no data and escapes text", () => {
    const svg = lineChart({
      title: `<script>alert("x")</script> & co`,
      series: [
        { name: "a<b>", y: [] },
        { name: "c", y: [NaN] },
      ],
    });
    checkWellFormed(svg);
    assert.ok(svg.includes("no data"));
    assert.ok(!svg.includes("<script"));
    assert.ok(svg.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
    assert.equal(seriesPaths(svg).length, 2);
  });

  it("validates its input", () => {
    assert.throws(() => lineChart({ series: [{ name: "a", x: [1, 2], y: [1, 2, 3] }] }), {
      message: "Expected series[0].x to have length 3 (same as y) but received length 2",
    });
    assert.throws(() => lineChart({ series: [{ name: "a", y: [1], color: '"/><script>' }] }), {
      message: 'Expected CSS colour string for series[0].color but received "\\"/><script>" (string)',
    });
    assert.throws(() => lineChart({ series: [], width: 0 }), {
      message: "Expected positive integer for width but received 0 (number)",
    });
  });
});

describe("helpers", () => {
  it("formats ticks by step", () => {
    assert.equal(formatTick(0.30000000000000004, 0.1), "0.3");
    assert.equal(formatTick(2.5, 2.5), "2.5");
    assert.equal(formatTick(200, 100), "200");
    assert.equal(formatTick(0.0001, 0.0001), "1e-4");
    assert.equal(formatTick(250000, 50000), "2.5e5");
  });
  it("escapes XML", () => {
    assert.equal(escapeXml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });
});
