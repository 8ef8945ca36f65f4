#!/usr/bin/env python3
"""The GPU machine's benchmark, run by bench/gpu.sh (see there for the bundle it reads and how it is carried).

    python3 bench/gpu.py --bundle DIR --out DIR [--device cuda] [--quick]

1. the CUDA tests (carried test binaries: AdamW on CUDA against the torch fixture, bf16-autocast training and
   f32/bf16 decoding on CUDA against the CPU);
2. SFT tokens/s and MFU, ours against HF transformers (f32 weights under bf16 autocast, sdpa, same batches);
3. batched greedy generation, ours against HF `generate` (bf16 weights, same prompts and batches);
4. a small SuperNI pipeline on CUDA (3 categories, No Replay, Random, InsCL and the experts) to the report.

The models are SmolLM2-135M-Instruct's and all-MiniLM-L6-v2's shapes and tokenizers with weights drawn by
transformers on the machine (seed 0) unless the bundle carries real weights: the real ones are 98 and 91 MB,
over a call's 64 MiB. Speed, memory and MFU do not depend on the weights' values; the pipeline's scores do, so
its report checks that CUDA runs the stages end to end, not what SmolLM2 learns. Prints every figure and writes
gpu.md, gpu.json and the logs to --out. `--device cpu --quick` is the dry run on a machine without a GPU.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_rows import GEN, SFT, TASKS, gen_rows, sft_rows  # noqa: E402
from proc import ROOT, StepError, log, run  # noqa: E402
from report import _gen_table, _sft_table  # noqa: E402

PIPELINE_TASKS = {
    # One SuperNI task per InsCL category, each with short inputs and outputs.
    "Classification": "task065_timetravel_consistent_sentence_classification",
    "Sentiment_Analysis": "task1312_amazonreview_polarity_classification",
    "Rewriting": "task132_dais_text_modification",
}


def model_folder(shape_dir, out, kind):
    """The carried folder itself when it holds weights; else its config and tokenizer with weights drawn here."""
    if any(shape_dir.glob("*.safetensors")):
        return shape_dir
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(shape_dir)
    cls = AutoModelForCausalLM if kind == "causal" else AutoModel
    cls.from_config(config, torch_dtype=torch.float32).save_pretrained(out, safe_serialization=True)
    for f in shape_dir.rglob("*"):
        target = out / f.relative_to(shape_dir)
        if f.is_file() and f.name != "config.json":
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
    return out


def cuda_tests(bundle, out, device):
    """Runs every carried test binary; returns one line per binary with its pass/fail counts."""
    lines = []
    for binary in sorted((bundle / "tests").glob("*")):
        t0 = time.perf_counter()
        p = subprocess.run([binary, "--nocapture", "--test-threads", "1"], capture_output=True, text=True)
        (out / f"test-{binary.name}.log").write_text(p.stdout + p.stderr)
        summary = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("test result")), "no summary")
        lines.append(f"{binary.name}: {'ok' if p.returncode == 0 else 'FAILED'} ({summary}; "
                     f"{time.perf_counter() - t0:.1f} s)")
        log("   " + lines[-1])
    return lines


PIPELINE = """name = "gpu-superni"
description = "bench/gpu.sh: a small SuperNI pipeline on {device}"
methods = ["none", "random", "inscl"]
experts = true

[dataset]
path = "{superni}"
test_fraction = 0.2
seed = 1
max_per_task = {per_task}

[orders]
short = {order}

[annotate]
tagger = "keyphrase"
wordnet = "{wordnet}"

[embed]
encoder = "minilm"
minilm = "{minilm}"

[replay]
alpha = {alpha}
seed = 1

[model]
base = "{base}"

[finetune]
lr = 2e-5
epochs = 1
micro_batch = 16
grad_accum = 2
max_len = {max_len}
device = "{device}"

[evaluate]
max_new_tokens = {max_new}
batch_size = 64
max_test_per_category = 64
device = "{device}"
"""


def pipeline(inscl, bundle, work, out, device, quick, base, minilm):
    text = PIPELINE.format(device=device, superni=bundle / "superni", per_task=24 if quick else 200,
                           order=json.dumps(list(PIPELINE_TASKS)), wordnet=bundle / "wordnet", minilm=minilm,
                           alpha=8 if quick else 50, base=base, max_len=128 if quick else 512,
                           max_new=8 if quick else 32)
    toml = work / "gpu-superni.toml"
    toml.write_text(text)
    store = work / "store"
    _, run_s = run([inscl, "--store", store, "run", toml], timeout=600)
    report_dir = out / "report"
    _, report_s = run([inscl, "--store", store, "report", toml, "--out", report_dir], timeout=300)
    md = report_dir / "gpu-superni" / "report.md"
    return {"run_s": run_s, "report_s": report_s, "report": str(md.relative_to(out)) if md.exists() else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="small shapes, for the dry run on CPU")
    args = ap.parse_args()
    out, bundle = args.out.resolve(), args.bundle.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "inscl-gpu"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    bins = bundle / "bin"
    results, md = {"device": args.device}, [f"# bench/gpu.sh on {args.device}", ""]
    t_start = time.perf_counter()

    def step(name, fn):
        log(f"== {name}")
        t0 = time.perf_counter()
        try:
            results[name] = fn()
        except (StepError, OSError, subprocess.SubprocessError) as e:
            results[name] = {"error": str(e)}
        log(f"   {name}: {time.perf_counter() - t0:.1f} s")
        return results[name]

    base = model_folder(bundle / "smollm2-shape", work / "smollm2", "causal")
    minilm = model_folder(bundle / "minilm-shape", work / "minilm", "encoder")
    real = base == bundle / "smollm2-shape"
    md += [f"Weights: {'SmolLM2-135M-Instruct as carried' if real else 'SmolLM2-135M shape, drawn here (seed 0)'}.", ""]

    tests = step("cuda_tests", lambda: cuda_tests(bundle, out, args.device))
    md += ["## CUDA tests", ""] + [f"- {ln}" for ln in (tests if isinstance(tests, list) else [tests["error"]])] + [""]

    sft_shape = dict(SFT) if args.quick else {"per_task": 128, "micro_batch": 16, "grad_accum": 2, "max_len": 512}
    gen_shape = dict(GEN, per_task=8) if args.quick else {"per_task": 64, "batch": 32, "max_new": 64}
    if args.quick:
        sft_shape["per_task"] = 8
    common = dict(model=base, superni=bundle / "superni", tasks=TASKS, device=args.device,
                  threads=os.cpu_count() if args.device == "cpu" else 1)
    sft = step("sft", lambda: sft_rows(bins, sys.executable, work, reps=1 if args.quick else 3, shape=sft_shape,
                                       **common))
    md += ["## Fine-tuning vs HF transformers", ""] + (_sft_table(sft) if "error" not in sft else [sft["error"], ""])
    dtype = "f32" if args.device == "cpu" else "bf16"
    gen = step("gen", lambda: gen_rows(bins, sys.executable, work, dtype=dtype, reps=1 if args.quick else 3,
                                       shape=gen_shape, **common))
    md += ["## Batched greedy generation vs HF generate", ""] + (_gen_table(gen) if "error" not in gen
                                                                  else [gen["error"], ""])
    pipe = step("pipeline", lambda: pipeline(bins / "inscl", bundle, work, out, args.device, args.quick, base, minilm))
    md += ["## Small SuperNI pipeline", ""]
    md += [pipe["error"] if "error" in pipe else
           f"`inscl run` {pipe['run_s']:.1f} s, `inscl report` {pipe['report_s']:.1f} s; report: {pipe['report']}", ""]
    md += [f"Whole script: {time.perf_counter() - t_start:.0f} s."]
    (out / "gpu.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "gpu.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    failed += ["cuda_tests"] if isinstance(tests, list) and any("FAILED" in t for t in tests) else []
    if failed:
        print(f"failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
