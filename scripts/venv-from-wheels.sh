#!/bin/sh
# Build step of the runner and agent-server images (their `venv` stage), run inside the
# build: a virtualenv from the offline wheelhouse copied to /wheels (no network in builds),
# without pip, test suites, headers or caches, with the project's source directory on its
# path through a .pth file (python -I ignores PYTHONPATH), compiled ahead of time because
# the root file system is read-only at run time.
#   venv-from-wheels.sh VENV_DIR SOURCE_DIR PTH_NAME
set -eu
venv=$1 src=$2 pth=$3

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  rm -rf /var/lib/apt/lists/*
fi

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --no-index --no-compile --disable-pip-version-check \
  --find-links /wheels -r /wheels/requirements.txt
"$venv/bin/pip" uninstall --quiet -y pip setuptools
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
find "$site" -depth -type d \( -name tests -o -name __pycache__ \) -exec rm -rf {} +
rm -rf "$site/numpy/_core/include" "$site/numpy/f2py" "$venv/include"
echo "$src" > "$site/$pth"
"$venv/bin/python" -m compileall -q -j 0 "$site" >/dev/null
