"""scikit-learn's side of the DBSCAN rows: times DBSCAN(eps=0.1, min_samples=5, metric="cosine") on the
float32 matrix `dbscan_bench` wrote (n and d as two little-endian u64, then the values), i.e. the very
tag-like vectors our side clustered.

    bench/.venv/bin/python bench/ref_dbscan.py X_PATH LABELS_OUT --reps R

Prints one JSON object: {"times": [...], "clusters": k, "noise": count}; writes the labels as int64.
"""
import json
import sys
import time

import numpy as np
from sklearn.cluster import DBSCAN


def main():
    path, out = sys.argv[1], sys.argv[2]
    reps = int(sys.argv[sys.argv.index("--reps") + 1]) if "--reps" in sys.argv else 3
    n, d = np.fromfile(path, dtype="<u8", count=2)
    X = np.fromfile(path, dtype="<f4", offset=16).reshape(int(n), int(d))
    times, labels = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        labels = DBSCAN(eps=0.1, min_samples=5, metric="cosine").fit(X).labels_
        times.append(time.perf_counter() - t0)
    labels.astype("<i8").tofile(out)
    print(json.dumps({"times": times, "clusters": int(labels.max() + 1), "noise": int((labels == -1).sum())}))


if __name__ == "__main__":
    main()
