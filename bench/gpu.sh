#!/usr/bin/env bash
# bench/gpu.sh OUT_DIR [--device cuda|cpu] [--quick]: the one command of a GPU machine, ≤ 8 minutes end to end:
# the CUDA tests, SFT tokens/s and MFU against HF (bf16 autocast, sdpa, same batches), generation against HF
# `generate` (bf16 weights), and a small SuperNI pipeline on CUDA; every figure is printed, and gpu.md, gpu.json,
# the logs and the pipeline's report go to OUT_DIR. The work is in bench/gpu.py.
#
# Built for the device of DEVELOPERS.md (no Rust, torch 2.11.0+cu130 with transformers under python3, 64 MiB
# per call): bench/gpu-pack.sh makes .gpu/ here, the call carries it, e.g.
#   run(command="bash bench/gpu.sh $OUT", carry=[".gpu"], timeout_s=540)
# Dry run on a CPU machine: PYTHON=.venv-ref/bin/python bash bench/gpu.sh /tmp/gpu-dry --device cpu --quick
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bench/gpu.sh OUT_DIR [--device cuda|cpu] [--quick]}
shift
BUNDLE=${INSCL_GPU_BUNDLE:-.gpu}
PY=${PYTHON:-python3}
if [ ! -x "$BUNDLE/bin/inscl" ] && [ -f "$BUNDLE/binaries.tar.xz" ]; then
  tar -C "$BUNDLE" -xJf "$BUNDLE/binaries.tar.xz"
fi
if [ ! -x "$BUNDLE/bin/inscl" ]; then
  echo "bench/gpu.sh: $BUNDLE/bin/inscl is missing: run bench/gpu-pack.sh where the workspace builds, and carry $BUNDLE" >&2
  exit 2
fi
# Our binaries link libtorch dynamically (tch, LIBTORCH_USE_PYTORCH): use the torch of this machine's Python.
TORCH_LIB=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
root=$(cat "$BUNDLE/build-root")
if [ "$root" != "$PWD" ] && [ ! -e "$root" ]; then
  mkdir -p "$(dirname "$root")" && ln -s "$PWD" "$root"
fi
mkdir -p "$OUT"
{ nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())'
} | tee "$OUT/env.txt"
exec timeout 470 env PYTHONUNBUFFERED=1 "$PY" bench/gpu.py --bundle "$BUNDLE" --out "$OUT" "$@"
