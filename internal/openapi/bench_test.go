package openapi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/auth0-http-api/cdk/internal/apitemplate"
	"github.com/auth0-http-api/cdk/internal/openapi"
)

// BenchmarkDocument measures what `apictl openapi` does once the template is
// on disk: read and parse the dev stage's template, derive the document and
// write it as JSON (docs/performance.md).
func BenchmarkDocument(b *testing.B) {
	path := filepath.Join(root, "testdata", "dev.template.json")
	for b.Loop() {
		template, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		api, err := apitemplate.Parse(template)
		if err != nil {
			b.Fatal(err)
		}
		doc, err := openapi.New(api, openapi.TemplateOptions(api, "dev"))
		if err != nil {
			b.Fatal(err)
		}
		doc.JSON()
	}
}
