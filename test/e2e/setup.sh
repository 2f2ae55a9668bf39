#!/usr/bin/env bash
# Installs what the end-to-end tests need: Debian's Chromium, and code-server 4.100.3 (VS Code
# 1.100.3) from npm, built as the recipe in shared/README.md describes. The built code-server is
# cached in $LOCKPATH_E2E_CACHE (default ~/.cache/lockpath-e2e) so later runs skip it.
set -euo pipefail
CACHE="${LOCKPATH_E2E_CACHE:-$HOME/.cache/lockpath-e2e}"
VERSION=4.100.3
DEST="$CACHE/code-server-$VERSION"
mkdir -p "$CACHE"

if ! command -v chromium >/dev/null || ! command -v rg >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libkrb5-dev ripgrep chromium >/dev/null
  else
    echo "e2e setup: chromium, ripgrep and libkrb5-dev are needed (run as root to install them)" >&2
    exit 1
  fi
fi

if [ ! -x "$DEST/package/out/node/entry.js" ] && [ ! -f "$DEST/.complete" ]; then
  rm -rf "$DEST" && mkdir -p "$DEST"
  (
    cd "$DEST"
    npm pack "code-server@$VERSION" --silent >/dev/null
    tar xzf "code-server-$VERSION.tgz"
    cd package
    npm install --omit=dev --ignore-scripts --no-audit --no-fund --silent
    npm rebuild argon2 --silent
    cd lib/vscode
    npm install --omit=dev --ignore-scripts --no-audit --no-fund --silent
    mkdir -p node_modules/@vscode/ripgrep/bin && cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
    # node-pty's own post-install step fails on an npx call; pty.node is built by then, which is all that is needed.
    npm rebuild kerberos node-pty @parcel/watcher @vscode/spdlog @vscode/deviceid --silent || true
    ln -sfn node_modules node_modules.asar
    (cd extensions && npm install --omit=dev --ignore-scripts --no-audit --no-fund --silent)
  )
  node "$DEST/package/out/node/entry.js" --version | head -1
  touch "$DEST/.complete"
fi
echo "$DEST/package"
