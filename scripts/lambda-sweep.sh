#!/usr/bin/env bash
# The sweep behind the default lastFrameWeight (λ, README "Choosing λ"): a tiny VQ prior on CIFAR-10 pseudo videos
# (independent, T = 4, 300 updates of batch 32) on a shared clean-image tokenizer per seed, for λ = 1/T (0.25),
# 0.5, 0.75 and 0.9, two seeds; each run scored on 1,000 samples (FD, KID, precision, recall) and 1,000 test images
# (the last frame's bits per code given the true earlier frames, and given the model's own). Resumable: finished
# runs are kept. About 15 min on one core. Usage: bash scripts/lambda-sweep.sh [OUT]   (default runs/lambda-sweep)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/lambda-sweep}
mkdir -p "$out"
L="node bin/lastframe.js"
export LASTFRAME_THREADS=${LASTFRAME_THREADS:-1}
echo '{"train":{"stageSteps":{"prior":0}}}' > "$out/tokenizer.json"
for seed in 0 1; do
  tok=$out/tokenizer-s$seed
  [ -f "$tok/config.json" ] && [ -n "$(ls -d "$tok"/ckpt-000300 2>/dev/null)" ] ||
    $L train --data cifar10 --model vqvae --preset tiny --steps 300 --batch 32 --seed $seed --out "$tok" \
      --config "$out/tokenizer.json" --resume --quiet
  for lam in 0.25 0.5 0.75 0.9; do
    run=$out/lambda$lam-s$seed
    [ -f "$run/eval.json" ] && continue
    echo "{\"hps\":{\"lastFrameWeight\":$lam},\"train\":{\"stageSteps\":{\"vqvae\":0}}}" > "$out/lambda$lam.json"
    $L train --data cifar10 --model vqvae --preset tiny --spec independent --frames 4 --steps 300 --batch 32 \
      --seed $seed --out "$run" --config "$out/lambda$lam.json" --init-from "$tok" --init-modules vqvae. --resume --quiet
    $L eval "$run" --data cifar10 --metrics fd,kid,pr,bpd --n 1000 --bpd-images 1000 --json > /dev/null
  done
done
node -e '
const fs = require("fs"), out = process.argv[1];
console.log("| λ | seed | FD | KID | precision | last frame bits/code, true earlier | own earlier |");
console.log("|---|---|---:|---:|---:|---:|---:|");
for (const lam of ["0.25", "0.5", "0.75", "0.9"]) for (const s of [0, 1]) {
  const e = JSON.parse(fs.readFileSync(`${out}/lambda${lam}-s${s}/eval.json`, "utf8"));
  console.log(`| ${lam} | ${s} | ${e.fd.toFixed(2)} | ${e.kid.mean.toFixed(3)} | ${e.pr.precision.toFixed(3)} | ` +
    `${e.bpd.last_bpd_given_true.toFixed(3)} | ${e.bpd.last_bpd_generated.toFixed(3)} |`);
}' "$out"
