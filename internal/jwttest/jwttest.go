// Package jwttest is test support: it signs JWTs with any algorithm, key and
// header parameters, including the ones an attacker would send. Only tests
// import it.
package jwttest

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// Sign signs claims with method and key. header sets header parameters, and
// a nil value removes one (such as "kid").
func Sign(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	for name, value := range header {
		if value == nil {
			delete(token.Header, name)
		} else {
			token.Header[name] = value
		}
	}
	signed, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}
