# Every target runs the pinned Node.js 22 and CDK CLI from node_modules, which
# `npm ci` installs from package-lock.json on first use.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

NODE_MODULES := node_modules/.installed

.PHONY: help synth test update-snapshots vet policy wiring lint-workflows synth-refuses-bad-config web dev screenshot local smoke bench check clean
.DEFAULT_GOAL := help

STAGE ?= dev

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST) | awk '{i = index($$0, ": "); printf "  %-26s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2)}'

## synth: synthesize every stage into cdk.out, with CDK's template validation on
synth: $(NODE_MODULES)
	npx cdk synth --quiet '**'

## test: unit, snapshot and handler tests (the README's test command)
test: $(NODE_MODULES)
	go test -count=1 ./...

## update-snapshots: rewrite testdata/ and api/ (the OpenAPI documents) from the current code; review the diff before committing
update-snapshots: $(NODE_MODULES)
	go test . -run 'TestSnapshots' -update

## vet: formatting and go vet
vet:
	@unformatted=$$(find . -name '*.go' -not -path './node_modules/*' -not -path './cdk.out/*' -not -path './.local/*' | xargs gofmt -l); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...

## policy: cfn-lint and the AWS Control Tower guard rules over every stage's template in cdk.out (run synth first)
policy: $(NODE_MODULES)
	@echo "cfn-lint & go run ./cmd/apictl policy"; cfn-lint & lint=$$!; \
	  go run ./cmd/apictl policy; guard=$$?; wait $$lint || { echo "cfn-lint failed (above)"; exit 1; }; exit $$guard

## wiring: prove every runtime path of every stage allowed as AWS evaluates IAM, and its neighbours refused (reads cdk.out)
wiring: $(NODE_MODULES)
	go run ./cmd/apictl wiring

## lint-workflows: actionlint (go.mod's tool) over .github/workflows, with shellcheck over their run scripts
lint-workflows:
	@command -v shellcheck >/dev/null || { echo "shellcheck is missing, and actionlint checks the workflows' scripts with it: sudo apt-get install -y shellcheck (.ci/run does)"; exit 1; }
	go tool actionlint

## synth-refuses-bad-config: a bad -c override stops the real `cdk synth` with the stage, the field and the fix
synth-refuses-bad-config: $(NODE_MODULES)
	scripts/synth-refuses-bad-config.sh

## web: type-check and build the page into web/dist
web: $(NODE_MODULES)
	tsc -p web
	vite build web --logLevel warn

## dev: the local loop: the page on 127.0.0.1:5173, signed in through the dev issuer, calling the local API
# The Go code compiles in the background while npm installs and the page
# builds: on a fresh clone each takes most of a minute, one on the network,
# the other on the CPU. A compile error is reported by the go run that follows.
dev:
	@go build ./... & compiling=$$!; $(MAKE) --no-print-directory web; built=$$?; wait $$compiling; [ $$built = 0 ] || exit $$built; \
	  echo "go run ./cmd/apictl dev --stage $(STAGE) --watch"; exec go run ./cmd/apictl dev --stage $(STAGE) --watch

## screenshot: sign in as bob in Chromium and save the page as docs/screenshot.png (the README's picture)
screenshot: $(NODE_MODULES)
	SCREENSHOT=$(CURDIR)/docs/screenshot.png go test ./cmd/apictl -run TestSignInInChromium -count=1

## local: serve STAGE (default dev) on 127.0.0.1:3000 with the dev issuer, and print curl lines to try
local: $(NODE_MODULES)
	go run ./cmd/apictl local --stage $(STAGE) --dev-issuer --watch

## smoke: check the deployed STAGE against its access matrix (needs cdk-outputs.json and AUTH0_CLIENT_ID/SECRET)
smoke: $(NODE_MODULES)
	go run ./cmd/apictl smoke --stage $(STAGE)

## bench: measure synth, tests, functions and the local API against the budget (docs/performance.md)
bench: $(NODE_MODULES)
	scripts/bench.sh

## check: everything CI runs: vet, lint-workflows, test, synth, synth-refuses-bad-config, policy, wiring
check: vet lint-workflows test synth synth-refuses-bad-config policy wiring

## clean: remove cdk.out
clean:
	rm -rf cdk.out
