// Line counts per layer, in the layer order of .dependency-cruiser.cjs (tinygrad's sz.py does this for its
// core), so that growth of the lower layers shows in every CI log. Code lines exclude blank and comment-only
// lines; the generated operators are counted on their own row.
//   npm run build && node dist/tools/sz.js
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url)); // this file runs as dist/tools/sz.js
const order = [
  ...["native", "util", "tensor", "nn", "data", "video", "modality", "models", "train", "bench"],
  ...["eval", "experiments", "report", "cli"],
];
const generated = "src/tensor/ops.gen.ts";

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === "build" ? [] : files(p, ext);
    return ext.test(name) ? [p] : [];
  });
}

function count(paths: string[]): { files: number; lines: number; code: number } {
  let lines = 0,
    code = 0;
  for (const p of paths) {
    const all = readFileSync(p, "utf8").split("\n");
    if (all[all.length - 1] === "") all.pop();
    lines += all.length;
    code += all.filter((l) => {
      const t = l.trim();
      return t !== "" && !t.startsWith("//") && !t.startsWith("/*") && !t.startsWith("*");
    }).length;
  }
  return { files: paths.length, lines, code };
}

const src = join(root, "src");
const folders = readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory());
const rows: [string, string[]][] = [["native/ (C++, gyp)", files(join(root, "native"), /\.(cc|h|gyp|cjs)$/)]];
for (const layer of [...order, ...folders.filter((f) => !order.includes(f)).sort()]) {
  if (!folders.includes(layer)) continue;
  const ts = files(join(src, layer), /\.ts$/).filter((p) => relative(root, p) !== generated);
  rows.push([`src/${layer}/`, ts]);
  if (layer === "tensor") rows.push([`${generated} (generated)`, [join(root, generated)]]);
}
rows.push(["src/*.ts", files(src, /\.ts$/).filter((p) => !relative(src, p).includes("/"))]);
rows.push(["tools/", files(join(root, "tools"), /\.ts$/)]);
rows.push(["test/", files(join(root, "test"), /\.ts$/)]);

const pad = Math.max(...rows.map(([name]) => name.length));
console.log(`${"layer".padEnd(pad)}  files  lines   code`);
let total = { files: 0, lines: 0, code: 0 };
for (const [name, paths] of rows) {
  const c = count(paths);
  if (name.startsWith("src/") || name.startsWith("native/"))
    total = { files: total.files + c.files, lines: total.lines + c.lines, code: total.code + c.code };
  console.log(
    `${name.padEnd(pad)}  ${String(c.files).padStart(5)}  ${String(c.lines).padStart(5)}  ${String(c.code).padStart(5)}`,
  );
}
console.log(
  `${"library total".padEnd(pad)}  ${String(total.files).padStart(5)}  ${String(total.lines).padStart(5)}  ${String(total.code).padStart(5)}`,
);
