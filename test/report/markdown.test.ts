import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  aggregate,
  aggregateTable,
  formatMeanStd,
  formatNumber,
  markdownTable,
  meanStd,
} from "../../src/report/markdown.js";

describe("markdownTable", () => {
  it("pads columns, right-aligns numbers and escapes pipes and newlines", () => {
    const md = markdownTable(
      ["model", "steps", "fid"],
      [
        ["ddpm", 1000, 12.3456],
        ["a|b", 20, null],
        ["x\ny", 3, 0.5],
      ],
    );
    assert.equal(
      md,
      [
        "| model  | steps |   fid |",
        "| ------ | ----: | ----: |",
        "| ddpm   |  1000 | 12.35 |",
        "| a\\|b   |    20 |       |",
        "| x<br>y |     3 |   0.5 |",
        "",
      ].join("\n"),
    );
  });

  it("honours explicit alignment", () => {
    assert.equal(
      markdownTable(["a", "b"], [["x", 1]], { align: ["center", "left"] }),
      "|  a  | b   |\n| :-: | --- |\n|  x  | 1   |\n",
    );
  });

  it("rejects ragged rows", () => {
    assert.throws(() => markdownTable(["a", "b"], [["x"]]), {
      message: "Expected rows[0] to have 2 cells (one per column) but received 1",
    });
  });
});

describe("aggregation", () => {
  it("computes mean and sample std (n - 1)", () => {
    const s = meanStd([1, 2, 3, 4]);
    assert.equal(s.mean, 2.5);
    assert.ok(Math.abs(s.std - Math.sqrt(5 / 3)) < 1e-12); // ((1.5² + .5²) * 2) / 3
    assert.equal(s.n, 4);
    assert.deepEqual(meanStd([7]), { mean: 7, std: 0, n: 1 });
    assert.deepEqual(meanStd([null, undefined]), { mean: NaN, std: NaN, n: 0 });
  });

  it("formats mean ± std", () => {
    assert.equal(formatMeanStd([1, 2, 3, 4], 2), "2.50 ± 1.29");
    assert.equal(formatMeanStd([5], 2), "5.00 ± —");
    assert.equal(formatMeanStd([], 2), "—");
    assert.equal(formatMeanStd([-0.0001, 0.0001], 2), "0.00 ± 0.00");
    assert.equal(formatMeanStd([1, NaN], 1), "NaN ± NaN");
    assert.throws(() => formatMeanStd([1], -1), {
      message: "Expected non-negative integer for digits but received -1 (number)",
    });
  });

  it("groups by keys in first-appearance order and skips missing metrics", () => {
    const rows = [
      { model: "a", lr: 0.1, seed: 1, fid: 10, loss: 1 },
      { model: "a", lr: 0.1, seed: 2, fid: 12, loss: 2 },
      { model: "b", lr: 0.1, seed: 1, fid: 7, loss: 3 },
      { model: "a", lr: 0.1, seed: 3, fid: 14 },
      { model: "b", lr: 0.1, seed: 2, fid: null, loss: 5 },
      { model: "a", lr: 0.2, seed: 1, fid: 1, loss: 1 },
    ];
    const agg = aggregate(rows, ["model", "lr"], ["fid", "loss"]);
    assert.deepEqual(agg, [
      {
        group: { model: "a", lr: 0.1 },
        count: 3,
        metrics: { fid: { mean: 12, std: 2, n: 3 }, loss: { mean: 1.5, std: Math.SQRT1_2, n: 2 } },
      },
      {
        group: { model: "b", lr: 0.1 },
        count: 2,
        metrics: { fid: { mean: 7, std: 0, n: 1 }, loss: { mean: 4, std: Math.SQRT2, n: 2 } },
      },
      {
        group: { model: "a", lr: 0.2 },
        count: 1,
        metrics: { fid: { mean: 1, std: 0, n: 1 }, loss: { mean: 1, std: 0, n: 1 } },
      },
    ]);
    const t = aggregateTable(agg, ["model", "lr"], ["fid", "loss"], 2);
    assert.equal(
      markdownTable(t.columns, t.rows),
      [
        "| model |  lr |   n |          fid |        loss |",
        "| ----- | --: | --: | -----------: | ----------: |",
        "| a     | 0.1 |   3 | 12.00 ± 2.00 | 1.50 ± 0.71 |",
        "| b     | 0.1 |   2 |     7.00 ± — | 4.00 ± 1.41 |",
        "| a     | 0.2 |   1 |     1.00 ± — |    1.00 ± — |",
        "",
      ].join("\n"),
    );
  });

  it("rejects non-numeric metric values", () => {
    assert.throws(() => aggregate([{ k: "a", m: "1" }], ["k"], ["m"]), {
      message: 'Expected number, null or undefined for m of row 0 in group ["a"] but received "1" (string)',
    });
  });

  it("formats numbers compactly", () => {
    assert.equal(formatNumber(3), "3");
    assert.equal(formatNumber(1 / 3), "0.3333");
    assert.equal(formatNumber(123456.789), "123500");
    assert.equal(formatNumber(0.000012346), "1.235e-5");
    assert.equal(formatNumber(NaN), "NaN");
  });
});
