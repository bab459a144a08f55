// Where evaluation keeps what it computes once and reuses: trained feature nets and reference statistics.
//   <root>/featnets/<data>/model.safetensors + model.json   (weights; config, test accuracy, provenance)
//   <root>/stats/<data>-<split>-<space>-<n>.safetensors      (reference features, mean, covariance, provenance)
// <root> is $LASTFRAME_CACHE if set, else <repo>/.cache/lastframe.
//
// The repository also pins feature nets in <repo>/featnets/<data>: the nets its committed tables were scored with.
// They are used wherever the cache has none, so a fresh machine scores new runs in the same feature space as the
// runs a results.json already records (retraining gives other weights: float sums differ with the thread count).
import { createHash } from "node:crypto";
import path from "node:path";
import { cacheRoot, repoRoot } from "../data/index.js";

export function featnetDir(data: string): string {
  return path.join(cacheRoot(), "featnets", safeName(data));
}

export function pinnedFeatnetDir(data: string): string {
  return path.join(repoRoot(), "featnets", safeName(data));
}

export function statsFile(data: string, split: string, space: string, n: number): string {
  return path.join(cacheRoot(), "stats", `${safeName(data)}-${split}-${safeName(space)}-${n}.safetensors`);
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "data";
}

/** sha256 of bytes, as hex; `digits` shortens it for ids in file names and tables. */
export function sha256(bytes: Uint8Array, digits = 64): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, digits);
}
