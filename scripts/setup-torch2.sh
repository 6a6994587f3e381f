#!/usr/bin/env bash
# Installs the second supported LibTorch line: PyTorch 2.11.0 from PyPI (its Linux wheel is the CUDA 13.0
# build, the line the GPU machine has) into a virtual environment outside the source tree, so that
# `cmake --preset torch2` (scripts/test.sh --torch2) can build signsweep against its LibTorch with CUDA. As root on a fresh Debian 12
# machine; idempotent (a venv that already has the pinned version is left as it is). Nothing is downloaded
# at build or test time. The venv's location: $SIGNSWEEP_TORCH2_VENV, default /opt/signsweep/torch2.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly TORCH_VERSION=2.11.0
readonly VENV=${SIGNSWEEP_TORCH2_VENV:-/opt/signsweep/torch2}

bash scripts/setup.sh
# The venv's Python must be the one Debian's libraries were built for (3.11, C++11 ABI like the wheel).
python=/usr/bin/python3
if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
fi

installed() {
  [[ -x $VENV/bin/python ]] &&
    [[ $("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null) == "$TORCH_VERSION" ]]
}

if ! installed; then
  [[ -x $VENV/bin/python ]] || "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir "torch==$TORCH_VERSION" numpy
fi
installed || { echo "setup-torch2.sh: torch $TORCH_VERSION is not importable from $VENV" >&2; exit 1; }
"$VENV/bin/python" - <<'PY'
import torch
print(f"setup-torch2.sh: torch {torch.__version__} (CUDA {torch.version.cuda}, C++11 ABI "
      f"{torch.compiled_with_cxx11_abi()}) at {torch.utils.cmake_prefix_path}")
PY
