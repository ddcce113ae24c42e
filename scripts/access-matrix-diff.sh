#!/usr/bin/env bash
# access-matrix-diff.sh BASE: prints, in Markdown for a pull request's job
# summary, how the change since commit BASE alters who may call which route.
# It diffs the access matrices in testdata/: `make check` has just failed
# unless they are exactly what the synthesized templates give, so this is the
# synthesized access matrix's diff, and a route turning public shows as such.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: scripts/access-matrix-diff.sh BASE_COMMIT" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
changes=$(git diff --no-color --unified=0 "$1" HEAD -- 'testdata/*.access-matrix.txt')
echo "### Access matrix"
echo
if [ -z "$changes" ]; then
  echo "No route changes who may call it."
else
  echo "Who may call which route changes: review each line."
  echo
  fence='```'
  printf '%sdiff\n%s\n%s\n' "$fence" "$changes" "$fence"
fi
