"""Running the two sides of a bench case: one command at a time in the repository root, failures as StepError."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class StepError(Exception):
    """A command of one case failed; the case's rows show `message` instead of numbers."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def error_line(text):
    """The most telling line of a failed command's output: the last one mentioning an error, else the last."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.search(r"error|panicked|Traceback|failed", ln, re.I)]
    return (errors or lines or ["(no output)"])[-1][:300]


def run(cmd, timeout=None, env=None):
    """Runs `cmd` in the repository root; returns (stdout, wall seconds). Raises StepError with the error line
    on failure. On a timeout the command's whole process group goes (a pipeline run may have spawned helpers)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    except OSError as e:
        raise StepError(f"`{cmd[0]}`: {e}") from None
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise StepError(f"`{Path(str(cmd[0])).name}` did not finish within {timeout:.0f} s") from None
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise StepError(f"`{Path(str(cmd[0])).name}` exited {p.returncode}: {error_line(err + out)}")
    return out, dt


def run_json(cmd, **kw):
    out, _ = run(cmd, **kw)
    return json.loads(out.strip().splitlines()[-1])


def rel_diff(ours, theirs):
    return abs(ours - theirs) / max(abs(theirs), 1e-300)


def agree_word(ok):
    return "yes" if ok else "no"
