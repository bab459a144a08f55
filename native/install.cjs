// npm's install step for lastframe: builds the native addon (native/build/Release/lastframe.node) against the
// libtorch that paths.cjs finds, unless there is nothing to build:
//   - $LASTFRAME_ADDON names a prebuilt lastframe.node (built by this version's native/ against a libtorch on
//     this machine): it is copied to native/build/Release, where src/native/load.ts looks;
//   - the addon is already built (a reinstall);
//   - this is a development checkout (a .git folder): scripts/setup.sh builds the addon there.
// CommonJS, beside paths.cjs, because it runs before anything is compiled.
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const say = (msg) => console.error(`lastframe: ${msg}`);

const prebuilt = process.env.LASTFRAME_ADDON;
if (prebuilt) {
  if (!fs.existsSync(prebuilt)) {
    say(`LASTFRAME_ADDON=${prebuilt} does not exist`);
    process.exit(1);
  }
  // Copied in, so the installed package loads it without the variable (which still overrides at run time).
  const target = path.join(__dirname, "build/Release/lastframe.node");
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(prebuilt, target);
  say(`using the prebuilt addon ${prebuilt} (LASTFRAME_ADDON), copied to native/build/Release`);
  process.exit(0);
}
if (fs.existsSync(path.join(__dirname, "build/Release/lastframe.node"))) process.exit(0);
if (fs.existsSync(path.join(root, ".git"))) process.exit(0);

// npm puts its own node-gyp on the PATH of install scripts. Debian's nodejs ships the headers in /usr/include/node,
// which spares node-gyp a download.
const args = ["rebuild", "--directory", __dirname, "--loglevel=error"];
if (!process.env.npm_config_nodedir && fs.existsSync("/usr/include/node/node_api.h"))
  args.push("--nodedir=/usr");
say("building the native addon against libtorch (under a minute)");
const r = spawnSync(
  process.env.npm_config_node_gyp ? process.execPath : "node-gyp",
  process.env.npm_config_node_gyp ? [process.env.npm_config_node_gyp, ...args] : args,
  { stdio: "inherit" },
);
if (r.status !== 0) {
  console.error(
    [
      "lastframe: could not build the native addon.",
      "Possible solutions:",
      "- Install libtorch: apt-get install -y libtorch-dev libopenblas-dev, then reinstall lastframe",
      "- For a libtorch you downloaded (e.g. with CUDA): LIBTORCH=/path/to/libtorch npm install lastframe",
      "- Point at an addon built elsewhere: LASTFRAME_ADDON=/path/to/lastframe.node npm install lastframe",
    ].join("\n"),
  );
  process.exit(1);
}
