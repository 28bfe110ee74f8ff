#!/usr/bin/env bash
# The benchmark runs for a lent GPU machine (no Node there; see bench/RESULTS.md), each part
# sized to fit one 10-minute call. Results (JSON, markdown, logs) go under $OUT.
#
#   here:   npx vite build --config vite.gpu.config.ts && bash ../shared/gpu/pack.sh dist/gpu/bench.mjs
#   there:  source .gpu/setup.sh && bash bench/gpu-run.sh peers     # every suite, TF.js beside
#           source .gpu/setup.sh && bash bench/gpu-run.sh tuning    # tiles/split-K/epilogue comparison + profile
#           source .gpu/setup.sh && bash bench/gpu-run.sh tuned     # the mlp and rnn suites with --tune
#                                                                     (their choices kept in $OUT/tuning.json)
#           source .gpu/setup.sh && bash bench/gpu-run.sh recurrent # the lstm and gru suites (issue 14), TF.js's
#                                                                     tf.layers.lstm/gru on WebGPU and CPU beside
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
part=${1:-}
shift || true
# further options (e.g. --quick, to try the script on a machine without a GPU) go to every run
bench() { node .gpu/app/bench.mjs "$@" "${extra[@]}"; }
extra=("$@")
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu --format=csv > "$out/gpu-$part.csv" 2>&1
case "$part" in
  peers)
    bench --backends webgpu,tfjs-webgpu --json "$out/peers.json" --markdown "$out/peers.md" --svg "$out/peers.svg" > "$out/peers.log" 2>&1
    echo "peers: exit $?"
    tail -n 40 "$out/peers.md"
    ;;
  tuning)
    bench --suite tiles --backends webgpu --json "$out/tiles.json" --markdown "$out/tiles.md" > "$out/tiles.log" 2>&1
    echo "tiles: exit $?"
    bench --profile > "$out/profile.log" 2>&1
    echo "profile: exit $?"
    cut -d'|' -f3,5,7 "$out/tiles.md"
    grep -v '^ *$' "$out/profile.log" | head -n 60
    ;;
  tuned)
    for s in mlp rnn; do
      bench --suite $s --backends webgpu --tune --tune-cache "$out/tuning.json" --json "$out/tuned-$s.json" --markdown "$out/tuned-$s.md" > "$out/tuned-$s.log" 2>&1
      echo "tuned $s: exit $?"
      grep -E '^tuned|ms/step' "$out/tuned-$s.log"
    done
    ;;
  recurrent)
    # the CPU contenders run the smaller case only (the 2-layer in128 h512 T64 b128 step is ~170 GFLOP)
    for s in lstm gru; do
      bench --suite $s --backends webgpu,tfjs-webgpu,cpu,tfjs-cpu --json "$out/$s.json" --markdown "$out/$s.md" > "$out/$s.log" 2>&1
      echo "$s: exit $?"
      tail -n 20 "$out/$s.md"
    done
    ;;
  *)
    echo "usage: bash bench/gpu-run.sh peers|tuning|tuned|recurrent" >&2
    exit 2
    ;;
esac
