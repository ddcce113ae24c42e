package main

import (
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// module is this module's path, the prefix of its packages' import paths.
const module = "github.com/auth0-http-api/cdk"

// packageRule is a row of the README's package map: the packages it is
// about, and the packages of this module they may import (none when empty).
type packageRule struct{ packages, mayImport []string }

// packageMap reads the table between the README's package map markers.
func packageMap(t *testing.T) []packageRule {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, found := strings.Cut(string(readme), "<!-- package map: begin -->")
	table, _, ended := strings.Cut(table, "<!-- package map: end -->")
	if !found || !ended {
		t.Fatal("README.md has no package map between <!-- package map: begin --> and <!-- package map: end -->")
	}
	var rules []packageRule
	for _, line := range strings.Split(strings.TrimSpace(table), "\n")[2:] { // after the header and its rule
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 2 {
			t.Fatalf("package map row %q: want two cells", line)
		}
		rules = append(rules, packageRule{packages: codeSpans(cells[0]), mayImport: codeSpans(cells[1])})
	}
	return rules
}

// codeSpans are the `quoted` names of a table cell.
func codeSpans(cell string) []string {
	var names []string
	for i, part := range strings.Split(cell, "`") {
		if i%2 == 1 {
			names = append(names, part)
		}
	}
	return names
}

// matches tells whether a package, relative to the module ("." for its root),
// is one a name of the map stands for: itself, or dir/* for any package
// below dir.
func matches(name, pkg string) bool {
	if dir, wildcard := strings.CutSuffix(name, "/*"); wildcard {
		return strings.HasPrefix(pkg, dir+"/")
	}
	return name == pkg
}

// ruleFor is the row about pkg: one that names it, before one with a wildcard.
func ruleFor(rules []packageRule, pkg string) (packageRule, bool) {
	for _, exact := range []bool{true, false} {
		for _, rule := range rules {
			for _, name := range rule.packages {
				if strings.HasSuffix(name, "/*") != exact && matches(name, pkg) {
					return rule, true
				}
			}
		}
	}
	return packageRule{}, false
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// relative is an import path relative to the module, "." for its root, or
// "" for a package of another module.
func relative(importPath string) string {
	if importPath == module {
		return "."
	}
	rel, ours := strings.CutPrefix(importPath, module+"/")
	if !ours {
		return ""
	}
	return rel
}

// Imports point down: every import of a package of this module, by a package
// of this module, is one that the README's package map allows.
func TestImportsFollowThePackageMap(t *testing.T) {
	t.Parallel() // go list, beside the syntheses
	rules := packageMap(t)
	for _, line := range goList(t, "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...") {
		fields := strings.Fields(line)
		pkg := relative(fields[0])
		rule, found := ruleFor(rules, pkg)
		if !found {
			t.Errorf("package %s is in no row of README.md's package map: add it", pkg)
			continue
		}
		for _, imported := range fields[1:] {
			dep := relative(imported)
			if dep != "" && !slices.ContainsFunc(rule.mayImport, func(name string) bool { return matches(name, dep) }) {
				t.Errorf("%s imports %s, which README.md's package map does not allow (it may import %v)", pkg, dep, rule.mayImport)
			}
		}
	}
}

// testSupport are the packages that only tests may import.
var testSupport = []string{"testing", module + "/internal/testsupport", module + "/internal/jwttest", module + "/internal/auth0standin"}

// No binary links test support, nor the testing package.
func TestBinariesLinkNoTestSupport(t *testing.T) {
	t.Parallel() // go list, beside the syntheses
	mains := slices.DeleteFunc(goList(t, "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "./..."), func(s string) bool { return s == "" })
	if len(mains) < 5 {
		t.Fatalf("found only the main packages %v", mains)
	}
	for _, line := range goList(t, append([]string{"-f", "{{.ImportPath}} {{join .Deps \" \"}}"}, mains...)...) {
		fields := strings.Fields(line)
		for _, dep := range fields[1:] {
			if slices.Contains(testSupport, dep) {
				t.Errorf("the binary %s links %s, which only tests may import", path.Base(fields[0]), dep)
			}
		}
	}
}
