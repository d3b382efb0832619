#!/usr/bin/env bash
# Installs the Python package built in build/python into a virtual environment, offline, with
# Debian's tools only: the package folder and the library (with its per-CPU copies) are copied
# into the environment's site-packages; numpy and pandas come from Debian (the environment is
# made with --system-site-packages when it does not exist).
#   scripts/python-install.sh VENV      then: VENV/bin/python -c "import gru4rec"
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:?usage: scripts/python-install.sh VENV}"
compgen -G "build/python/gru4rec/_gru4rec*.so" > /dev/null ||
  { echo "build the project first (scripts/build.sh)" >&2; exit 1; }
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf "$site/gru4rec"
cp -r build/python/gru4rec "$site/gru4rec"
cp -a build/lib/libgru4rec.so* "$site/gru4rec/"
[ -d build/lib/glibc-hwcaps ] && cp -a build/lib/glibc-hwcaps "$site/gru4rec/"
echo "installed gru4rec into $site"
