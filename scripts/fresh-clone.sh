#!/usr/bin/env bash
# Times what a newcomer waits for on a fresh machine: a clone of this
# repository's HEAD with empty Go module, Go build and npm caches of its own,
# then `make dev` until it says it is ready, then `make test`
# (docs/performance.md, budget 180 s together). The machine's own caches are
# left alone. Needs GNU time, and Chromium for the sign-in test.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fresh-clone.XXXXXX)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
export GOMODCACHE=$work/gomod GOCACHE=$work/gocache npm_config_cache=$work/npm
git clone -q "$repo" "$work/clone"
cd "$work/clone"

start=$(date +%s.%N)
setsid make dev >"$work/dev.log" 2>&1 &
dev=$!
until grep -q '^ready in' "$work/dev.log"; do
  kill -0 "$dev" 2>/dev/null || { cat "$work/dev.log"; echo "fresh-clone: make dev stopped before it was ready"; exit 1; }
  sleep 0.2
done
ready=$(date +%s.%N)
kill -INT -- "-$dev" 2>/dev/null || true # make, go run and apictl: one process group
wait "$dev" 2>/dev/null || true
# The CLI the tests run is ready once `make dev` has been: npm ci ran then.
/usr/bin/time -f "%e" -o "$work/test.time" make test >"$work/test.log" 2>&1 || { tail -50 "$work/test.log"; echo "fresh-clone: make test failed"; exit 1; }
awk -v s="$start" -v r="$ready" -v t="$(cat "$work/test.time")" 'BEGIN {
  printf "make dev until ready: %.1f s\nmake test: %.1f s\ntogether: %.1f s (budget 180 s)\n", r - s, t, r - s + t }'
