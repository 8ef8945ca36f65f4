"""What the two HF reference scripts share: peak RSS and their command line."""

import argparse


def peak_rss():
    """This process's peak resident set size (VmHWM), in bytes, as our examples report theirs."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def parser():
    """MODEL_DIR DUMP.json [--threads N] [--device cpu|cuda]."""
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("dump")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    return ap
