// The layer order of src/, lowest first: a folder may import only folders on its own row or rows above it.
// `npm run check:layers` (scripts/check.sh) fails on an upward import or a cycle.
//
//   native  util          the addon and its loader | small helpers (atomic writes, argument checks)
//   tensor                Tensor, ops, tidy
//   nn  dist              modules, layers, optimizers, safetensors | process groups (c10d over Gloo)
//   data  video           data sets and caches | pseudo videos
//   modality              what is specific to images: grids and GIFs out
//   models                the model families
//   train  bench          training runs | benchmark cases
//   eval                  metrics and feature nets
//   experiments           suites, runner, collect (tables from results)
//   tune                  searching pseudo-video specs: spaces, proxies, successive halving
//   cli                   one file per command
//   src/index.ts          the package's entry point
//
// report/ is a leaf: it renders plain data (markdown, HTML, SVG) and imports nothing of lastframe but util/ and
// the error classes, so it knows no suites, runs or tensors; experiments/, tune/ and cli/ use it.
// The error classes (src/errors.ts) import nothing and may be used from
// any layer. A new folder under src/ must be given its place here (rule layer-unknown).
const layers = [
  ["native", "util"],
  ["tensor"],
  ["nn", "dist"],
  ["data", "video"],
  ["modality"],
  ["models"],
  ["train", "bench"],
  ["run"],
  ["eval"],
  ["experiments"],
  ["tune"],
  ["cli"],
];
const errors = "^src/errors\\.ts$";
const known = `^src/(?!(${[...layers.flat(), "report"].join("|")})/)[^/]+/`;

const upward = layers.flatMap((row, i) => {
  const above = layers.slice(i + 1).flat();
  if (!above.length) return [];
  return [
    {
      name: `no-upward-from-${row.join("-")}`,
      comment: `${row.join(", ")} may not import ${above.join(", ")} (a higher layer)`,
      severity: "error",
      from: { path: `^src/(${row.join("|")})/` },
      to: { path: [`^src/(${above.join("|")})/`, "^src/index\\.ts$"], pathNot: errors },
    },
  ];
});

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "no-upward-to-util-native-exceptions",
      comment: "util/ and native/ import nothing of lastframe but the error classes",
      severity: "error",
      from: { path: "^src/(util|native)/" },
      to: { path: "^src/", pathNot: ["^src/(util|native)/", errors] },
    },
    {
      name: "report-is-a-leaf",
      comment:
        "report/ renders data: it imports only util/ and the error classes (no suites, runs or tensors)",
      severity: "error",
      from: { path: "^src/report/" },
      to: { path: "^src/", pathNot: ["^src/(report|util)/", errors] },
    },
    {
      name: "report-used-from-the-top",
      comment: "only experiments/, tune/ and cli/ (and the package entry) render reports",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(report|experiments|tune|cli)/|^src/index\\.ts$" },
      to: { path: "^src/report/" },
    },
    {
      name: "no-cycle",
      comment: "no import cycle that exists at run time",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "no-type-cycle",
      comment: "no cycle even through `import type`",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "layer-unknown",
      comment: "a folder of src/ that has no place in the layer order above",
      severity: "error",
      from: {},
      to: { path: known },
    },
    {
      name: "layer-unknown-importer",
      comment: "a folder of src/ that has no place in the layer order above",
      severity: "error",
      from: { path: known },
      to: {},
    },
    {
      name: "src-not-to-test-or-tools",
      comment: "the library does not import its tests or tools",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|tools|scripts)/" },
    },
    {
      name: "no-unresolvable",
      comment: "every import resolves",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^dist/" },
  },
};
