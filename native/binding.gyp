{
  "targets": [
    {
      "target_name": "lastframe",
      "sources": ["addon.cc", "dist.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<!@(node paths.cjs include)"],
      "libraries": ["-L<!(node paths.cjs lib)", "-Wl,-rpath,<!(node paths.cjs lib)", "<!@(node paths.cjs libs)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "USE_C10D_GLOO", "USE_DISTRIBUTED"]
    }
  ]
}
