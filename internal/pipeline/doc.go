// Package pipeline holds the tests that keep the delivery pipeline in
// .github (the workflows and their local actions) to its rules: AWS
// credentials only by OIDC, every action pinned to a commit, the least
// permissions per job, and every stage of cdk.json deployed, gated and
// smoke-tested. actionlint (`make lint-workflows`) checks the syntax and the
// expressions; these tests check the project's own rules, and the scripts
// the workflow runs to write its job summaries.
package pipeline
