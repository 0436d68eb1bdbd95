#!/usr/bin/env bash
# Regenerates every sample. Python generators need Debian's python3-torch, python3-numpy,
# python3-onnx, python3-sklearn, python3-h5py, python3-joblib, python3-xgboost, python3-msgpack,
# python3-yaml, python3-cloudpickle and python3-flatbuffers; R generators need r-base-core
# (apt-get install ...).
# Outputs are committed, so tests never need Python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
py=/usr/bin/python3
for f in "$here"/*.py; do [ -e "$f" ] || continue; echo "== $f" >&2; "$py" "$f"; done
for f in "$here"/*.R; do [ -e "$f" ] || continue; echo "== $f" >&2; Rscript "$f"; done
for f in "$here"/*.mjs; do [ -e "$f" ] || continue; echo "== $f" >&2; node "$f"; done
