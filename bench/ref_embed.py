"""sentence-transformers' side of the embed row: the same texts (a JSON list, written by text_rows.py) and the same
MiniLM folder as `embed_bench`, encoded with `SentenceTransformer.encode` at its defaults (batch 32, length-sorted,
mean pooling, normalised: the folder's modules.json), so the row times what a user of sentence-transformers gets.

    python bench/ref_embed.py TEXTS.json MODEL_DIR [--threads T] [--ours VECTORS.f32]

Prints one JSON line: rows, seconds (model load excluded, as in embed_bench), rows per second, and with --ours the
largest absolute difference and the smallest cosine between our vectors and theirs, row by row.
"""
import argparse
import json
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("texts")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--ours", default=None)
    a = ap.parse_args()
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    if a.threads:
        torch.set_num_threads(a.threads)
    texts = json.load(open(a.texts))
    model = SentenceTransformer(a.model, device="cpu")
    started = time.perf_counter()
    theirs = model.encode(texts, convert_to_numpy=True)
    secs = time.perf_counter() - started
    out = {"rows": len(texts), "seconds": secs, "rows_per_s": len(texts) / secs, "threads": torch.get_num_threads(),
           "max_seq_length": model.max_seq_length}
    if a.ours:
        ours = np.fromfile(a.ours, dtype="<f4").reshape(theirs.shape)
        cos = (ours * theirs).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
        out["max_abs_diff"] = float(np.abs(ours - theirs).max())
        out["min_cosine"] = float(cos.min())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
