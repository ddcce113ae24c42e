#!/usr/bin/env bash
# make synth-refuses-bad-config: the real `cdk synth`, given bad -c overrides,
# must exit non-zero, name each stage and field, and write no template.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if output=$(npx cdk synth --quiet --output "$out" -c stages.dev.auth0.domain= -c stages.dev.function.timeoutSeconds=45 \
  -c stages.prod.web.certificateArn=arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012 2>&1); then
  echo "$output"; echo "synth accepted a bad configuration"; exit 1
fi
for want in 'stage "dev": auth0.domain: missing' 'stage "dev": function.timeoutSeconds: 45 is out of range' \
  'stage "prod": web.certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012" is in eu-west-1, but CloudFront takes certificates from us-east-1 only'; do
  grep -qF "$want" <<<"$output" || { echo "$output"; echo "missing message: $want"; exit 1; }
done
if compgen -G "$out/*/*.template.json" >/dev/null || compgen -G "$out/*.template.json" >/dev/null; then
  echo "templates were written for a bad configuration"; exit 1
fi
echo "synth refused the bad configuration with the stage, the field and the fix"
