"""POT's side of the EMD and Sinkhorn rows: times `ot.dist(metric='cosine')` + `ot.emd2` (or
`ot.sinkhorn2(..., method='sinkhorn_log')`) on the points `emd_bench --dump DIR` wrote, so both sides solve
the very same float32 inputs (read back and widened to float64, as crates/distance/fixtures/bench_pot.py does).

    bench/.venv/bin/python bench/ref_ot.py DIR N --reps R [--sinkhorn REG --max-iter K --tol T]

Prints one JSON object: {"times": [per-rep total seconds], "dist_times": [...], "value": W, "warnings": [...]}.
"""
import argparse
import json
import os
import time
import warnings

import numpy as np
import ot


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("n", type=int)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sinkhorn", type=float, default=None)
    ap.add_argument("--max-iter", type=int, default=10_000)
    ap.add_argument("--tol", type=float, default=1e-9)
    a = ap.parse_args()
    n = a.n
    A = np.fromfile(os.path.join(a.dir, f"a_{n}.f32"), dtype="<f4").reshape(n, -1).astype(np.float64)
    B = np.fromfile(os.path.join(a.dir, f"b_{n}.f32"), dtype="<f4").reshape(n, -1).astype(np.float64)
    w = np.ones(n) / n
    times, dist_times, caught = [], [], []
    value = None
    for _ in range(a.reps):
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            M = ot.dist(A, B, metric="cosine")
            t1 = time.perf_counter()
            if a.sinkhorn is None:
                # POT's default numItermax (100000) can stop before optimality at n = 3000.
                value = ot.emd2(w, w, M, numItermax=100_000_000)
            else:
                value = ot.sinkhorn2(w, w, M, a.sinkhorn, method="sinkhorn_log",
                                     numItermax=a.max_iter, stopThr=a.tol)
            t2 = time.perf_counter()
        caught += [str(x.message) for x in ws]
        times.append(t2 - t0)
        dist_times.append(t1 - t0)
    print(json.dumps({"times": times, "dist_times": dist_times, "value": float(value),
                      "warnings": sorted(set(caught))}))


if __name__ == "__main__":
    main()
