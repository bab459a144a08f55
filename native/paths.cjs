// Where libtorch lives, for binding.gyp. $LIBTORCH (a PyTorch libtorch distribution, e.g. a CUDA build) wins;
// $LIBTORCH_INCLUDE / $LIBTORCH_LIB split the two; otherwise Debian's libtorch-dev paths.
const path = require("node:path");
const fs = require("node:fs");
const what = process.argv[2];
const root = process.env.LIBTORCH;
const include = process.env.LIBTORCH_INCLUDE || (root ? path.join(root, "include") : "/usr/include");
const lib = process.env.LIBTORCH_LIB || (root ? path.join(root, "lib") : "/usr/lib/x86_64-linux-gnu");
if (what === "include") {
  console.log([include, path.join(include, "torch/csrc/api/include")].join(" "));
} else if (what === "lib") {
  console.log(lib);
} else if (what === "libs") {
  const libs = ["-ltorch", "-ltorch_cpu", "-lc10"];
  if (fs.existsSync(path.join(lib, "libtorch_cuda.so"))) libs.push("-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed");
  console.log(libs.join(" "));
}
