// The report section of a `lastframe tune`: its leaderboard, pseudo-video previews of the best specs and the
// schedule population-based training learned, drawn over training. A leaf like the rest of report/: it renders
// the plain data it is given (tune/tune.ts gathers it) and knows nothing of tunes, specs or tensors.
import type { Cell } from "./markdown.js";
import type { ReportData } from "./html.js";
import type { Series } from "./svg.js";

export interface TuneReportData {
  title: string;
  /** Paragraphs: what was tuned, what won, the compute. */
  summary: string[];
  leaderboard: { columns: string[]; rows: Cell[][]; caption: string };
  /** One PNG per spec: a few images' pseudo videos, one video per row, frame 1 first. */
  previews: { name: string; caption: string; png: Uint8Array }[];
  /** A learned schedule: each parameter's value in each interval (the step it ended at). */
  schedule?: { member: string; steps: number[]; parameters: Record<string, (number | null)[]> };
}

/** The section as a report page's data (html.ts renderReport). */
export function tuneReport(d: TuneReportData): ReportData {
  const schedule = d.schedule;
  // A step function drawn as points at both ends of each interval: a parameter holds its value through it.
  const series = (values: (number | null)[], steps: number[]): Pick<Series, "x" | "y"> => ({
    x: steps.flatMap((s, i) => [i === 0 ? 0 : steps[i - 1]!, s]),
    y: values.flatMap((v) => [v, v]),
  });
  return {
    title: d.title,
    summary: d.summary,
    tables: [{ title: "Leaderboard", ...d.leaderboard }],
    charts: schedule
      ? [
          {
            title: `Learned schedule (${schedule.member}, followed back through its takeovers)`,
            caption:
              "Each operator's frame-1 strength and each mixture's probability of its operators, over the updates " +
              "they were trained with.",
            chart: {
              series: Object.entries(schedule.parameters).map(([name, values]) => ({
                name,
                ...series(values, schedule.steps),
              })),
              xLabel: "updates",
              yLabel: "value",
              markers: false,
            },
          },
        ]
      : [],
    galleries: d.previews.length
      ? [
          {
            title: "Pseudo videos of the best specs",
            description:
              "Held-out training images, one video per row, frame 1 (most corrupted) first, the image last.",
            images: d.previews.map((p) => ({ data: p.png, caption: `${p.name}: ${p.caption}` })),
          },
        ]
      : [],
  };
}
