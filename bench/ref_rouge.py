"""The reference side of the Rouge-L rows, on 10k deterministic pairs.

    bench/.venv/bin/python bench/ref_rouge.py gen PATH            # write the pairs as JSON
    bench/.venv/bin/python bench/ref_rouge.py rouge_metric PATH --reps R
    bench/.venv/bin/python bench/ref_rouge.py rouge_score PATH --reps R

The pairs are generated exactly as crates/evaluate/fixtures/bench_rouge.py generates them (same seed, same
vocabulary with mixed case, punctuation, accents, CJK and emoji, 1-2 lines, 1-3 references) and read back
from the JSON by both sides, so `rouge_bench` / `rouge_score_bench` score the identical strings.
The timed scorers print one JSON object: {"times": [...], "value": ...} (rouge_metric: P, R, F of the
corpus with PyRouge(rouge_l=True, rouge_n=()) defaults; rouge_score: mean over pairs of the best rougeL F
over the references with use_stemmer=True, SuperNI's corpus number / 100).
"""
import json
import random
import sys
import time


def generate(path):
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(500)] + ["The", "the", "cat.", "café", "北京", "😀"]

    def text():
        return "\n".join(" ".join(rng.choice(vocab) for _ in range(rng.randint(5, 25)))
                         for _ in range(rng.randint(1, 2)))

    pairs = [(text(), [text() for _ in range(rng.randint(1, 3))]) for _ in range(10000)]
    with open(path, "w") as f:
        json.dump(pairs, f, ensure_ascii=False)


def time_rouge_metric(pairs, reps):
    from rouge_metric import PyRouge

    times, value = [], None
    preds, refs = [p for p, _ in pairs], [r for _, r in pairs]
    for _ in range(reps):
        t0 = time.perf_counter()
        value = PyRouge(rouge_l=True, rouge_n=()).evaluate(preds, refs)["rouge-l"]
        times.append(time.perf_counter() - t0)
    return times, value


def time_rouge_score(pairs, reps):
    from rouge_score import rouge_scorer

    times, value = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        sc = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
        value = sum(max(sc.score(r, p)["rougeL"].fmeasure for r in rs) for p, rs in pairs) / len(pairs)
        times.append(time.perf_counter() - t0)
    return times, value


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "gen":
        generate(path)
        return
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    with open(path) as f:
        pairs = json.load(f)
    timer = {"rouge_metric": time_rouge_metric, "rouge_score": time_rouge_score}[mode]
    times, value = timer(pairs, reps)
    print(json.dumps({"times": times, "value": value}))


if __name__ == "__main__":
    main()
