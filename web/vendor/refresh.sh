#!/usr/bin/env bash
# Re-copies the vendored uPlot from web/node_modules (run `npm ci` or
# `npm install` in web/ first). The copies here are what the page (Trunk
# copy-file) and the CLI's HTML report (include_str!) use, so they are kept
# in the repository; this script makes them reproducible from the exact pin in
# web/package.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../node_modules/uplot"
[ -d "$src/dist" ] || { echo "no $src: run npm ci in web/ first" >&2; exit 1; }
want="$(node -p "require('$here/../package.json').dependencies.uplot")"
have="$(node -p "require('$src/package.json').version")"
[ "$want" = "$have" ] || { echo "node_modules has uplot $have, package.json pins $want: run npm ci in web/" >&2; exit 1; }
cp "$src/dist/uPlot.iife.min.js" "$src/dist/uPlot.min.css" "$here/"
cp "$src/LICENSE" "$here/uPlot.LICENSE"
echo "web/vendor: uPlot $have copied"
