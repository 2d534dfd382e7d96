#!/bin/sh
# Install the auditor wheel, with optional extras, into the Python that runs pip here. One script for the
# Dockerfile's final stage and for tests/test_packaging.py, so the test proves the image's install step.
# usage: install.sh WHEEL [EXTRAS]     (PYTHON=/path/to/python to pick the interpreter; default python3)
set -eu
wheel="$1"
extras="${2:-}"
spec="$wheel"
if [ -n "$extras" ]; then spec="$wheel[$extras]"; fi
"${PYTHON:-python3}" -m pip install --no-input "$spec"
"${PYTHON:-python3}" -m pip check
