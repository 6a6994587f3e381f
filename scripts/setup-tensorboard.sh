#!/usr/bin/env bash
# The virtual environment `signsweep export --tensorboard` runs its writer in (.venv-tensorboard/, ignored by
# git): tensorboardX writes the event files, tensorboard reads them (tensorboard --logdir, and the test that
# reads them back). Pinned versions from PyPI; idempotent; no root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-tensorboard
if [[ ! -x $venv/bin/python ]]; then
  /usr/bin/python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check tensorboardX==2.6.5 tensorboard==2.21.0
echo "setup-tensorboard.sh: $("$venv/bin/python" -c 'import tensorboardX, tensorboard; print("tensorboardX", tensorboardX.__version__, "tensorboard", tensorboard.__version__)') in $venv"
