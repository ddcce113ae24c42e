package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// markdownLink is an inline link or image: [text](target) or ![alt](target).
var markdownLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// inlineCode is a code span, whose brackets are not links.
var inlineCode = regexp.MustCompile("`[^`]*`")

// markdownLinks are the link targets of a Markdown file by line number,
// outside code blocks and code spans.
func markdownLinks(text string) map[int][]string {
	links := map[int][]string{}
	fenced := false
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, match := range markdownLink.FindAllStringSubmatch(inlineCode.ReplaceAllString(line, ""), -1) {
			links[i+1] = append(links[i+1], match[1])
		}
	}
	return links
}

// headingAnchors are the anchors GitHub gives a Markdown file's headings:
// the text lowercased, without punctuation, spaces turned into hyphens, and
// -1, -2… after a repeated one.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		heading, isHeading := strings.CutPrefix(line, "#")
		if fenced || !isHeading {
			continue
		}
		heading = strings.TrimSpace(strings.TrimLeft(heading, "#"))
		heading = markdownLink.ReplaceAllStringFunc(heading, func(link string) string { // [text](target): its text
			return link[strings.Index(link, "[")+1 : strings.Index(link, "]")]
		})
		var slug strings.Builder
		for _, r := range strings.ToLower(heading) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				slug.WriteRune(r)
			case r == ' ':
				slug.WriteRune('-')
			}
		}
		anchor := slug.String()
		if n := seen[anchor]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", anchor, n)] = true
		} else {
			anchors[anchor] = true
		}
		seen[anchor]++
	}
	return anchors
}

// Every relative link of the README and the guides names a file or folder
// that exists, and every #anchor one of its target's headings.
func TestDocumentationLinksResolve(t *testing.T) {
	guides, _ := filepath.Glob(filepath.Join("docs", "*.md"))
	files := append([]string{"README.md"}, guides...)
	if len(guides) < 10 {
		t.Fatalf("found only the guides %v", guides)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for line, targets := range markdownLinks(string(data)) {
			for _, target := range targets {
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				where, anchor, _ := strings.Cut(target, "#")
				resolved := file
				if where != "" {
					resolved = filepath.Join(filepath.Dir(file), where)
					if _, err := os.Stat(resolved); err != nil {
						t.Errorf("%s:%d: %s: no such file or folder", file, line, target)
						continue
					}
				}
				if anchor == "" || !strings.HasSuffix(resolved, ".md") {
					continue
				}
				text, err := os.ReadFile(resolved)
				if err != nil {
					t.Errorf("%s:%d: %s: %v", file, line, target, err)
				} else if !headingAnchors(string(text))[anchor] {
					t.Errorf("%s:%d: %s: %s has no heading with the anchor #%s", file, line, target, resolved, anchor)
				}
			}
		}
	}
}
