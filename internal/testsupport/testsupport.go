// Package testsupport holds what the tests of several packages need: a
// loopback address where nothing listens, and the KMS stand-in served until a
// test ends. Only tests import it: a test of the root package fails when a
// binary links it, or links the testing package.
package testsupport

import (
	"crypto/rand"
	"crypto/rsa"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/auth0-http-api/cdk/internal/kmsstandin"
)

// FreeAddress is a host:port on loopback where nothing listens: a listener
// opened and closed. The port stays free until something else takes it, so
// it serves as an unreachable address, or as one to start a server on.
func FreeAddress(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// FreePort is the port of a FreeAddress.
func FreePort(tb testing.TB) int {
	tb.Helper()
	addr, err := net.ResolveTCPAddr("tcp", FreeAddress(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return addr.Port
}

// StartKMS serves a KMS stand-in until the test ends.
func StartKMS(tb testing.TB) *kmsstandin.KMS {
	tb.Helper()
	k := kmsstandin.New()
	server := httptest.NewServer(k)
	tb.Cleanup(server.Close)
	k.URL = server.URL
	return k
}

// NewKMSKey creates an RSA_2048 SIGN_VERIFY key id in k and returns its ARN.
func NewKMSKey(tb testing.TB, k *kmsstandin.KMS, id string) string {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return k.AddKey(id, key)
}
