#!/usr/bin/env bash
# make bench: measures synth, tests, functions and the local API, reports each
# figure against the budget in docs/performance.md, and exits 1 if any is over.
# RUNS (default 7) sets how many runs a median is taken over: this machine's
# timings vary by tens of percent from run to run. COLD=0 skips the cold-cache
# test run, which takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
RUNS=${RUNS:-7}
COLD=${COLD:-1}
work=.local/bench
rm -rf "$work" && mkdir -p "$work"
command -v /usr/bin/time >/dev/null || { echo "bench: needs GNU time (apt-get install time)"; exit 1; }

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# timed RUNS CMD...: runs CMD RUNS times; prints "<median seconds> <peak RSS MB>".
# The peak RSS is GNU time's: the largest single process among CMD and its children.
# On failure it prints the command's output and "failed", which the caller checks.
timed() {
  local runs=$1; shift
  : >"$work/times"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/time1" "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; echo "failed: $*"; exit 1; }
    cat "$work/time1" >>"$work/times"
  done
  echo "$(cut -d' ' -f1 "$work/times" | median) $(cut -d' ' -f2 "$work/times" | sort -n | tail -1 | awk '{printf "%.0f", $1/1024}')"
}

# measured VALUE...: stops the bench when a timed command failed.
measured() { for v in "$@"; do [[ $v =~ ^[0-9.]+$ ]] || { echo "bench: a measured command failed ($v)"; exit 1; }; done; }

# context N: cdk.json's context with its first stage copied into N stages.
context() {
  node -e '
    const c = require("./cdk.json").context, n = +process.argv[1];
    const first = Object.values(c.stages)[0];
    c.stages = Object.fromEntries([...Array(n).keys()].map(i => [i ? "s" + i : "dev", first]));
    console.log(JSON.stringify(c));' "$1"
}

synth_app() { # synth_app CONTEXT VALIDATION: the app process alone, as the CLI runs it
  rm -rf "$work/cdk.out"
  CDK_CONTEXT_JSON="$1" CDK_VALIDATION="$2" CDK_OUTDIR="$work/cdk.out" "$work/app"
}
export -f synth_app
export work

results=()
budget() { # budget NAME VALUE OP LIMIT UNIT
  local verdict=under
  awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !((op == "<=" && v <= l) || (op == "<" && v < l) || (op == ">=" && v >= l)) }' || verdict=OVER
  results+=("$(printf '%-52s %10s %-8s budget %s %s %s' "$1" "$2" "$5" "$3" "$4" "$verdict")")
}

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(go version | cut -d' ' -f3), node $(node --version)"
go build -o "$work/app" .
all_stages=$(node -e 'console.log(JSON.stringify(require("./cdk.json").context))')

echo "== synth of every stage ($RUNS runs each, warm caches)"
read -r off off_mb < <(timed "$RUNS" bash -c "synth_app '$all_stages' false")
read -r on on_mb < <(timed "$RUNS" bash -c "synth_app '$all_stages' true")
read -r cli cli_mb < <(timed 3 npx cdk synth --quiet --output "$work/cli.out")
measured "$off" "$on" "$cli"
echo "app process, validation off: ${off} s, ${off_mb} MB | validation on: ${on} s, ${on_mb} MB | npx cdk synth: ${cli} s, ${cli_mb} MB"
budget "synth of all stages, app process, validation off" "$off" "<=" 2 s

echo "== cost of a stage (app process, validation off)"
read -r one _ < <(timed "$RUNS" bash -c "synth_app '$(context 1)' false")
read -r two _ < <(timed "$RUNS" bash -c "synth_app '$(context 2)' false")
read -r six _ < <(timed "$RUNS" bash -c "synth_app '$(context 6)' false")
measured "$one" "$two" "$six"
per_stage=$(awk -v t2="$two" -v t6="$six" -v t1="$one" 'BEGIN {printf "%.1f", 100 * (t6 - t2) / 4 / t1}')
echo "1 stage ${one} s, 2 stages ${two} s, 6 stages ${six} s: each added stage costs ${per_stage} % of one stage's synth"
budget "an added stage, % of one stage's synth" "$per_stage" "<" 25 %

echo "== functions, as bundled (arm64)"
rm -rf "$work/cdk.out" && synth_app "$all_stages" false >/dev/null 2>&1
node -e '
  const fs = require("fs"), path = require("path"), dir = process.argv[1];
  const sizes = new Map();
  for (const assembly of fs.readdirSync(dir).filter(d => d.startsWith("assembly-"))) {
    const file = fs.readdirSync(path.join(dir, assembly)).find(f => f.endsWith(".template.json"));
    const t = JSON.parse(fs.readFileSync(path.join(dir, assembly, file)));
    for (const r of Object.values(t.Resources).filter(r => r.Type === "AWS::Lambda::Function" && r.Metadata.GoPackage)) {
      const hash = r.Properties.Code.S3Key.replace(/\.zip$/, "");
      sizes.set(r.Metadata.GoPackage, fs.statSync(path.join(dir, "asset." + hash, "bootstrap")).size);
    }
  }
  for (const [pkg, size] of [...sizes].sort()) console.log(pkg, size);' "$work/cdk.out" >"$work/sizes"
while read -r pkg bytes; do
  mb=$(awk -v b="$bytes" 'BEGIN {printf "%.2f", b / 1e6}')
  echo "$pkg: $bytes bytes"
  budget "binary size of $pkg (arm64)" "$mb" "<=" 6 MB
done <"$work/sizes"

echo "== Go benchmarks"
go test -run '^$' -bench 'BenchmarkClaimsEcho' -benchmem -count "$RUNS" ./functions/handlers | tee "$work/echo.txt" | grep Benchmark
go test -run '^$' -bench 'BenchmarkFunctionInit' -benchtime 50x -count 1 ./internal/localapi | tee "$work/init.txt" | grep Benchmark
go test -run '^$' -bench 'BenchmarkLocalAPI' -benchtime 3000x -count 7 ./internal/localapi | tee "$work/api.txt" | grep Benchmark
go test -run '^$' -bench 'BenchmarkVerify$' -benchmem -count "$RUNS" ./internal/jwtauth | tee "$work/verify.txt" | grep Benchmark
go test -run '^$' -bench 'BenchmarkAuthorize' -benchmem -count "$RUNS" ./functions/permissions | tee "$work/authorize.txt" | grep Benchmark
go test -run '^$' -bench 'BenchmarkMint' -benchmem -count "$RUNS" ./kmsjwt | tee "$work/mint.txt" | grep Benchmark
go test -run '^$' -bench 'BenchmarkKeySetWarm' -benchmem -count "$RUNS" ./functions/keyset | tee "$work/keyset.txt" | grep Benchmark
go test -run '^$' -bench 'BenchmarkDocument' -benchmem -count "$RUNS" ./internal/openapi | tee "$work/openapi.txt" | grep Benchmark
metric() { grep "^$1-" "$2" | awk -v unit="$3" '{for (i = 2; i < NF; i++) if ($(i+1) == unit) print $i}' | median; }
budget "claims echo handler" "$(metric BenchmarkClaimsEcho "$work/echo.txt" ns/op)" "<=" 10000 ns/op
for fn in $(grep -o '^BenchmarkFunctionInit/[a-z]*' "$work/init.txt" | sort -u); do
  budget "${fn#BenchmarkFunctionInit/} init, process start to first next (median of 50)" "$(metric "$fn" "$work/init.txt" median-ms)" "<=" 15 ms
done
budget "JWT check, keys cached" "$(metric BenchmarkVerify "$work/verify.txt" ns/op)" "<" 50000 ns/op
budget "permissions authorizer decision, key cached, repeated token" "$(metric BenchmarkAuthorize "$work/authorize.txt" ns/op)" "<=" 5000 ns/op
echo "permissions authorizer, first sight (RS256): $(metric BenchmarkAuthorizeFirstSight "$work/authorize.txt" ns/op) ns/op"
budget "permissions authorizer decision on an organization's route, key cached, repeated token" "$(metric BenchmarkAuthorizeOrganization "$work/authorize.txt" ns/op)" "<=" 5000 ns/op
budget "permissions authorizer decision with DPoP, token cached, proof new" "$(metric BenchmarkAuthorizeDPoP "$work/authorize.txt" ns/op)" "<=" 5000000 ns/op
echo "local API, DPoP route ÷ JWT route throughput: $(metric BenchmarkLocalAPIDPoP "$work/api.txt" dpop/jwt)"
budget "token minting, excluding the KMS call" "$(metric BenchmarkMint "$work/mint.txt" ns/op)" "<=" 50000 ns/op
budget "well-known function, warm key set answer" "$(metric BenchmarkKeySetWarm "$work/keyset.txt" ns/op)" "<=" 10000 ns/op
budget "OpenAPI document of the dev stage, from its template" "$(metric BenchmarkDocument "$work/openapi.txt" ns/op)" "<=" 50000000 ns/op
api() { metric BenchmarkLocalAPI "$work/api.txt" "$1"; }
echo "local API: public $(api public-req/s) req/s (p50 $(api public-p50-µs) µs, p99 $(api public-p99-µs) µs)," \
  "private $(api private-req/s) req/s (p50 $(api private-p50-µs) µs, p99 $(api private-p99-µs) µs)"
budget "private/public throughput of the local API" "$(api private/public)" ">=" 0.8 x
echo "local API, permission route: $(api permission-req/s) req/s (p50 $(api permission-p50-µs) µs, p99 $(api permission-p99-µs) µs)"
budget "permission/public throughput of the local API" "$(api permission/public)" ">=" 0.5 x
echo "local API, organization route: $(api organization-req/s) req/s (p50 $(api organization-p50-µs) µs, p99 $(api organization-p99-µs) µs)"
budget "organization/public throughput of the local API" "$(api organization/public)" ">=" 0.5 x

echo "== the IAM wiring check of every stage and the GitHubDeploy stack ($RUNS runs, over $work/cli.out)"
go build -o "$work/apictl" ./cmd/apictl
read -r wiring wiring_mb < <(timed "$RUNS" "$work/apictl" wiring --cdk-out "$work/cli.out")
echo "apictl wiring: ${wiring} s, peak ${wiring_mb} MB"
budget "IAM wiring check, every stage" "$wiring" "<=" 5 s

echo "== go test ./..."
read -r warm warm_mb < <(timed 3 go test -count=1 ./...)
measured "$warm"
echo "warm: ${warm} s, peak ${warm_mb} MB"
budget "go test ./..., warm" "$warm" "<=" 20 s
if [ "$COLD" = 1 ]; then
  cache=$(mktemp -d)
  read -r cold cold_mb < <(timed 1 env GOCACHE="$cache" go test -count=1 ./...)
  measured "$cold"
  rm -rf "$cache"
  echo "cold (empty build cache): ${cold} s, peak ${cold_mb} MB"
fi

echo
echo "== budget"
printf '%s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -q 'OVER$'
