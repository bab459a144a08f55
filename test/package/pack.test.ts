// The package as a user gets it: `npm pack`, install the tarball into an empty project outside the repository,
// then run README's API example there, from plain JavaScript and through `tsc --noEmit` as TypeScript, and import
// every entry point of the exports map.
//
// The install step builds the addon inside the installed package against this machine's libtorch, as a user's
// install does (native/install.cjs): 16 s of the 35 s this file takes here. npm installs the package's own
// dependencies with --prefer-offline: from npm's cache when it holds them, from the registry otherwise (the first
// run on a machine needs it).
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "lastframe-pack-"));
const project = join(dir, "project");
const env: NodeJS.ProcessEnv = { ...process.env, LASTFRAME_THREADS: "1" };
delete env.LASTFRAME_ADDON; // the package finds its own addon

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed:\n${String(r.stdout)}\n${String(r.stderr)}`);
  return String(r.stdout);
}

/** README's API example: the first ```ts block of the "## API" section. */
function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## API\n"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README.md has no ```ts block under ## API");
  return m[1]!;
}

before(() => {
  // `npm pack` runs prepack (tsc, then dropping compiled files whose source is gone).
  // The JSON report is the end of stdout (lifecycle scripts may print before it).
  const out = run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: root });
  const [packed] = JSON.parse(out.slice(out.search(/^\[/m))) as { filename: string }[];
  const tarball = join(dir, packed!.filename);
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "uses-lastframe", private: true, type: "module" }),
  );
  run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], {
    cwd: project,
  });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("the tarball holds the compiled library, the CLI and the addon's sources, not the tests", () => {
  const pkg = join(project, "node_modules/lastframe");
  for (const f of [
    "dist/src/index.js",
    "dist/src/index.d.ts",
    "bin/lastframe.js",
    "native/addon.cc",
    "native/dist.cc",
    "native/binding.gyp",
  ])
    assert.ok(existsSync(join(pkg, f)), `${f} is missing from the package`);
  assert.ok(
    existsSync(join(pkg, "native/build/Release/lastframe.node")),
    "the install step did not place the addon",
  );
  for (const f of ["dist/test", "src", "test", "results"])
    assert.ok(!existsSync(join(pkg, f)), `${f} was packed`);
});

test("README's API example runs from plain JavaScript", () => {
  // The same example with its type annotations erased, which is what a JavaScript user writes.
  const js = ts.transpileModule(readmeExample(), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(project, "example.mjs"), js);
  run(process.execPath, ["example.mjs"], { cwd: project });
  assert.ok(existsSync(join(project, "net.safetensors")) && existsSync(join(project, "net.json")));
});

test("README's API example type-checks as TypeScript against the package's .d.ts files", () => {
  writeFileSync(join(project, "example.ts"), readmeExample());
  // Every entry point resolves to its declarations (an untyped one would be an implicit-any error here).
  const entries = ["", "/tensor", "/nn", "/video", "/models", "/train", "/run", "/eval"];
  writeFileSync(
    join(project, "entries.ts"),
    entries.map((s, i) => `import * as m${i} from "lastframe${s}";\nexport { m${i} };\n`).join("") +
      'import type { Tensor } from "lastframe";\nimport { training } from "lastframe";\n' +
      "export const t: (t: Tensor) => Tensor = (t) => t.relu();\nexport const train: typeof training.train = m5.train;\n",
  );
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      types: ["node"],
      typeRoots: [join(root, "node_modules/@types")],
    },
    files: ["example.ts", "entries.ts"],
  };
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify(tsconfig));
  run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", project], { cwd: project });
});

test("every entry point of the exports map imports, and the CLI runs", () => {
  const check = `
    const m = {};
    for (const s of ["", "/tensor", "/nn", "/video", "/models", "/train", "/eval"]) m[s] = await import("lastframe" + s);
    const want = { "": "tidy", "/tensor": "conv2d", "/nn": "Module", "/video": "parseSpec", "/models": "getFamily",
                   "/train": "train", "/eval": "evaluate" };
    for (const [s, name] of Object.entries(want))
      if (typeof m[s][name] !== "function") throw new Error("lastframe" + s + " has no " + name);
    if (typeof m[""].video.makeVideos !== "function") throw new Error("lastframe has no video namespace");`;
  run(process.execPath, ["--input-type=module", "-e", check], { cwd: project });
  assert.match(run(join(project, "node_modules/.bin/lastframe"), ["--help"], { cwd: project }), /lastframe/);
  // LASTFRAME_ADDON, when set, names the addon to load instead of the package's own (loaded by the first tensor).
  const first = 'const { ones } = await import("lastframe/tensor"); ones([1]);';
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", first], {
    cwd: project,
    encoding: "utf8",
    env: { ...env, LASTFRAME_ADDON: join(dir, "missing.node") },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Could not load lastframe's addon: .*missing\.node does not exist/);
});
