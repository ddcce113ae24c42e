package devissuer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKeyCreatesAnOwnerOnlyKeyAndReadsItBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev-issuer", "key.pem")
	created, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	loaded, err := LoadOrCreateKey(path)
	if err != nil || !loaded.Equal(created) {
		t.Errorf("the key read back differs: %v", err)
	}
}

// A key that others can read may already be copied: it is refused, with
// what to do, rather than used.
func TestAKeyFileOthersCanReadIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604} {
		os.Chmod(path, mode)
		_, err := LoadOrCreateKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %v: %v", mode, err)
		}
	}
}
