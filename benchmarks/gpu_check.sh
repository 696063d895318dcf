#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU, in about 10 minutes, measure what this package does
# there and print one table:
#   1. benchmarks/bench_train.py (pre-training and fine-tuning steps, float32 and mixed_bfloat16)
#      on every Keras backend whose GPU build is installed, beside the plain PyTorch eager baseline;
#   2. a short real pre-training and fine-tuning on MSR Action3D through the command line
#      (wall-clock per phase, test accuracy).
#
# Usage, from the repository root:
#   bash benchmarks/gpu_check.sh --fetch-wheels   # on a machine with a package index: fills
#                                                 # .gpu-wheels/ with what the GPU image lacks
#   bash benchmarks/gpu_check.sh [OUTPUT_DIR]     # on the GPU machine
# Environment: PYTHON (default python3), SKELETONMAE_DATA (a folder holding msr_action3d.pkl;
# default ../shared/data, else .gpu-data), GPU_CHECK_EPOCHS (default 10 pre-training and 10
# fine-tuning epochs), GPU_CHECK_STEPS (timed steps per measurement, default 30).
#
# The lent GPU machines reach no package index: they carry PyTorch and JAX with CUDA but not
# Keras, so the Keras wheels travel in .gpu-wheels/ (ignored by git) and install with --no-index.
# TensorFlow's CUDA build (about 600 MB) cannot travel there, so the TensorFlow backend is measured
# only where it is installed; the table says which backends ran.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
wheels=.gpu-wheels

if [ "${1:-}" = "--fetch-wheels" ]; then
  # Keras and the dependencies the GPU image lacks, for CPython 3.12 on x86-64 Linux.
  keras_version=$("$PYTHON" -c "import keras; print(keras.__version__)" 2>/dev/null || echo "")
  "$PYTHON" -m pip download -q -d "$wheels" --only-binary=:all: --python-version 3.12 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --no-deps \
    "keras${keras_version:+==$keras_version}" namex optree
  ls "$wheels"
  exit 0
fi

out=${1:-gpu-check-out}
mkdir -p "$out"
epochs=${GPU_CHECK_EPOCHS:-10}
data=${SKELETONMAE_DATA:-../shared/data}
[ -f "$data/msr_action3d.pkl" ] || data=.gpu-data

if ! "$PYTHON" -c "import keras" 2>/dev/null; then
  "$PYTHON" -m pip install -q --no-index --find-links "$wheels" keras
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"

backends=""
for b in jax torch tensorflow; do
  if "$PYTHON" -c "import importlib.util as u, sys; sys.exit(u.find_spec('$b') is None)"; then
    backends="$backends${backends:+,}$b"
  fi
done
echo "backends installed: $backends"

# 1. Training steps (each bench run is a few subprocesses of about 20 s).
for policy in float32 mixed_bfloat16; do
  timeout 240 "$PYTHON" benchmarks/bench_train.py --backends "$backends" --policy "$policy" \
    --steps "${GPU_CHECK_STEPS:-30}" --warmup 5 --json "$out/bench_$policy.json" 2>&1 | tee "$out/bench_$policy.txt" \
    || echo "bench_train.py ($policy) did not finish in 240 s" | tee -a "$out/bench_$policy.txt"
done

# 2. Real data: pre-train on the training subjects, fine-tune, evaluate on the test subjects.
phase() {  # name, then the command line's arguments
  local name=$1 start=$SECONDS
  shift
  KERAS_BACKEND=jax timeout 150 "$PYTHON" -m keras_skeletonmae "$@" >"$out/$name.log" 2>&1 \
    || echo "(exit status $? after $((SECONDS - start)) s)" >>"$out/$name.log"
  echo "$name $((SECONDS - start))" >>"$out/wall_clock.txt"
}
rm -f "$out/wall_clock.txt"
phase pretrain pretrain --data "$data/msr_action3d.pkl" --split xsub_train --epochs "$epochs" \
  --output "$out/run_pretrain"
phase finetune finetune --data "$data/msr_action3d.pkl" --train-split xsub_train \
  --val-split xsub_val --epochs "$epochs" --preset "$out/run_pretrain/preset" \
  --output "$out/run_finetune"

"$PYTHON" - "$out" <<'EOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
print(f"\n=== GPU check: {(out / 'gpu.txt').read_text().strip()}")
print(f"{'policy':<16}{'phase':<10}{'runner':<30}{'step ms':>9}{'graphs/s':>10}"
      f"{'vs eager':>10}{'% peak':>8}{'peak MiB':>10}")
for policy in ("float32", "mixed_bfloat16"):
    path = out / f"bench_{policy}.json"
    if not path.exists():
        print(f"{policy:<16}(bench_train.py wrote no results: see bench_{policy}.txt)")
        continue
    for r in json.loads(path.read_text())["results"]:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(f"{policy:<16}{r['phase']:<10}{r['runner']:<30}{1e3 * r['step_s']:>9.1f}"
              f"{r['rate']:>10.0f}{ratio:>10}{100 * r['fraction']:>7.1f}%{r['memory_mib']:>10.0f}")
wall = dict(line.split() for line in (out / "wall_clock.txt").read_text().splitlines())
evaluation = out / "run_finetune" / "evaluation.json"
top1 = json.loads(evaluation.read_text()).get("top1_accuracy") if evaluation.exists() else None
print(f"MSR Action3D (JAX): pre-training {wall.get('pretrain')} s, fine-tuning "
      f"{wall.get('finetune')} s, cross-subject test top-1 "
      f"{'not reached' if top1 is None else f'{100 * top1:.1f}%'}")
EOF
