#!/usr/bin/env bash
# summarize.sh TITLE COMMAND [ARG...]: runs COMMAND, prints what it printed,
# and, in GitHub Actions, appends that output under TITLE to the job summary
# ($GITHUB_STEP_SUMMARY), so that a stopped deploy shows why on the run's page.
# Exits with COMMAND's status. apictl prints no token or secret, so the
# summary holds none either.
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: scripts/summarize.sh TITLE COMMAND [ARG...]" >&2
  exit 2
fi
title=$1
shift
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  result="passed"
  [ "$status" -eq 0 ] || result="failed (exit status $status)"
  # A fence longer than any run of backticks in the output keeps it one block.
  fence='````'
  printf '### %s: %s\n\n%s\n%s\n%s\n\n' "$title" "$result" "$fence" "$output" "$fence" >> "$GITHUB_STEP_SUMMARY"
fi
exit "$status"
