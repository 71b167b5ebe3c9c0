#!/usr/bin/env bash
# Converts KVClient's DocC catalog and fails on any warning (a link to a symbol that no
# longer exists, say). Unlike RaftCore, KVClient imports NIO and AsyncHTTPClient, so its
# symbol graph is extracted from the debug build's modules: run after `swift build`.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The C modules the imports reach (NIO's, swift-numerics' shims ...): their headers and the
# module maps the build wrote.
includes=()
while IFS= read -r dir; do includes+=(-I "$dir"); done < <(find .build/checkouts -path '*/Sources/*/include' -type d)
while IFS= read -r map; do includes+=(-Xcc "-fmodule-map-file=$map"); done < <(find -L "$bin" -maxdepth 2 -name module.modulemap)
swift symbolgraph-extract -module-name KVClient -I "$bin/Modules" "${includes[@]}" \
    -target "$(uname -m)-unknown-linux-gnu" -minimum-access-level public -output-dir "$work" 2>/dev/null
docc convert Sources/KVClient/KVClient.docc --additional-symbol-graph-dir "$work" \
    --output-path "$work/KVClient.doccarchive" --warnings-as-errors
echo "KVClient documentation: no warnings"
