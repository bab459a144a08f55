/** A realistic sample report used by the HTML and browser tests. */
import type { ReportData } from "../../src/report/html.js";
import { encodeGif, encodePng, encodeVideoGrid } from "../../src/modality/image-grid.js";
import { aggregate, aggregateTable } from "../../src/report/markdown.js";
import { mulberry32 } from "../../src/util/random.js";

/** N pseudo videos (T frames, clean image last) of c x s x s rings, noise fading out over time. */
function pseudoVideos(n: number, t: number, c: 1 | 3, s: number, seed = 1): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(n * t * c * s * s);
  for (let i = 0; i < n; i++) {
    const cx = s * (0.3 + 0.4 * rand()),
      cy = s * (0.3 + 0.4 * rand()),
      r = s * (0.15 + 0.15 * rand());
    const colour = [rand(), rand(), rand()];
    for (let j = 0; j < t; j++) {
      const alpha = t === 1 ? 1 : j / (t - 1);
      for (let ch = 0; ch < c; ch++)
        for (let y = 0; y < s; y++)
          for (let x = 0; x < s; x++) {
            const d = Math.hypot(x - cx, y - cy);
            const ring = Math.max(0, 1 - Math.abs(d - r) / (s * 0.06));
            const clean = 255 * ring * (c === 1 ? 1 : 0.35 + 0.65 * colour[ch]!);
            const v = alpha * clean + (1 - alpha) * 255 * rand();
            out[(((i * t + j) * c + ch) * s + y) * s + x] = Math.round(v);
          }
    }
  }
  return out;
}

export const HOSTILE = `<script>alert("pwned")</script><img src=x onerror=alert(1)>`;

export async function sampleReport(): Promise<ReportData> {
  const n = 8,
    t = 6,
    s = 28;
  const grey = pseudoVideos(n, t, 1, s, 7);
  const rgb = pseudoVideos(n, t, 3, s, 11);
  const lastFrames = new Uint8Array(n * 3 * s * s);
  for (let i = 0; i < n; i++)
    lastFrames.set(rgb.subarray((i * t + t - 1) * 3 * s * s, (i * t + t) * 3 * s * s), i * 3 * s * s);

  const runs = [
    { model: "unet-s", corruption: "noise", seed: 0, fid: 12.1, loss: 0.031 },
    { model: "unet-s", corruption: "noise", seed: 1, fid: 12.9, loss: 0.029 },
    { model: "unet-s", corruption: "blur", seed: 0, fid: 15.4, loss: 0.042 },
    { model: "unet-s", corruption: "blur", seed: 1, fid: 14.8, loss: 0.04 },
    { model: "unet-m", corruption: "noise", seed: 0, fid: 9.7, loss: 0.025 },
  ];
  const agg = aggregateTable(
    aggregate(runs, ["model", "corruption"], ["fid", "loss"]),
    ["model", "corruption"],
    ["fid", "loss"],
    3,
  );

  const steps = Array.from({ length: 200 }, (_, k) => k * 50);
  const loss = (scale: number, seed: number): number[] => {
    const r = mulberry32(seed);
    return steps.map((st) => scale * (0.02 + 1 / (1 + st / 300)) * (1 + 0.15 * (r() - 0.5)));
  };
  const evalSteps = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000];

  return {
    title: "Pseudo-video ablation: noise vs. blur corruption",
    subtitle: "MNIST / CIFAR-style toy data, 28×28, T = 6 frames",
    generatedAt: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
    summary: [
      "Models are trained to predict each next frame of a pseudo video, whose last frame is the clean image. " +
        "This report compares noise and blur corruption schedules across two model sizes.",
      `Captions and configs contain hostile strings like ${HOSTILE} to check escaping.`,
    ],
    facts: [
      { label: "Runs", value: runs.length },
      { label: "Best FID", value: 9.7 },
      { label: "Steps", value: 10000 },
      { label: "Dataset", value: "mnist" },
    ],
    tables: [
      {
        title: "FID and loss by configuration (mean ± std over seeds)",
        columns: agg.columns,
        rows: agg.rows,
      },
      {
        title: "All runs",
        caption: `Raw per-seed results. ${HOSTILE}`,
        columns: ["model", "corruption", "seed", "fid", "loss"],
        rows: runs.map((r) => [r.model, r.corruption, r.seed, r.fid, r.loss]),
      },
    ],
    charts: [
      {
        chart: {
          title: "Training loss",
          xLabel: "step",
          yLabel: "MSE",
          logY: true,
          series: [
            { name: "unet-s noise", x: steps, y: loss(1, 1) },
            { name: "unet-s blur", x: steps, y: loss(1.3, 2) },
            { name: "unet-m noise", x: steps, y: loss(0.8, 3) },
          ],
        },
        caption: "Per-step training loss (log scale).",
      },
      {
        chart: {
          title: "FID during training",
          xLabel: "step",
          yLabel: "FID",
          series: [
            { name: "noise", x: evalSteps, y: [40, 28, 21, NaN, 16, 14.2, 13.1, 12.5, 12.1] },
            { name: "blur", x: evalSteps, y: [45, 33, 26, 22, 19, null, 16.5, 15.6, 15.1], dashed: true },
            { name: "single eval", x: [9000], y: [9.7] },
          ],
        },
        caption: `Missing evaluations leave gaps. ${HOSTILE}`,
      },
    ],
    galleries: [
      {
        title: "Generated samples",
        description: "Final frames and full pseudo videos.",
        images: [
          {
            data: await encodePng(lastFrames, { n, c: 3, h: s, w: s }, { cols: 4, scale: 3, pad: 2 }),
            caption: `Last frames (clean samples). ${HOSTILE}`,
          },
          {
            data: await encodeGif(
              grey,
              { n, t, c: 1, h: s, w: s },
              { cols: 4, scale: 3, fps: 4, holdLastMs: 800 },
            ),
            caption: "All pseudo videos playing at once (GIF).",
          },
          {
            data: await encodeVideoGrid(
              rgb.subarray(0, 4 * t * 3 * s * s),
              { n: 4, t, c: 3, h: s, w: s },
              { scale: 2 },
            ),
            caption: "One row per video, one column per frame.",
          },
        ],
      },
    ],
    runs: [
      {
        name: "unet-s / noise / seed 0",
        note: "baseline",
        config: { model: { channels: [32, 64], attn: false }, lr: 2e-4, seed: 0 },
      },
      {
        name: `hostile ${HOSTILE}`,
        config: { note: `</code></pre></details>${HOSTILE}`, nested: { big: 10n, inf: Infinity } },
      },
    ],
  };
}
