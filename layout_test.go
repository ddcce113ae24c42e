package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"sync"
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

// listedPackage is a package of this module as go list describes it.
type listedPackage struct {
	ImportPath, Name string
	Imports, Deps    []string
}

// modulePackages lists the module's packages once, for the tests that read
// them: one go list, beside the syntheses.
var modulePackages = sync.OnceValues(func() ([]listedPackage, error) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Name,Imports,Deps", "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list ./...: %w", err)
	}
	var packages []listedPackage
	for decoder := json.NewDecoder(bytes.NewReader(out)); decoder.More(); {
		var p listedPackage
		if err := decoder.Decode(&p); err != nil {
			return nil, err
		}
		packages = append(packages, p)
	}
	return packages, nil
})

func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	packages, err := modulePackages()
	if err != nil {
		t.Fatal(err)
	}
	return packages
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
	for _, listed := range listPackages(t) {
		pkg := relative(listed.ImportPath)
		rule, found := ruleFor(rules, pkg)
		if !found {
			t.Errorf("package %s is in no row of README.md's package map: add it", pkg)
			continue
		}
		for _, imported := range listed.Imports {
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
	var mains []string
	for _, listed := range listPackages(t) {
		if listed.Name != "main" {
			continue
		}
		mains = append(mains, listed.ImportPath)
		for _, dep := range listed.Deps {
			if slices.Contains(testSupport, dep) {
				t.Errorf("the binary %s links %s, which only tests may import", path.Base(listed.ImportPath), dep)
			}
		}
	}
	if len(mains) < 5 {
		t.Fatalf("found only the main packages %v", mains)
	}
}
