package kmsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/aws-http-auth/credentials"
)

// The request is KMS's: a POST of JSON with X-Amz-Target, signed as the AWS
// SDK's own SigV4 signer signs the same request, session token included.
func TestGetPublicKeyIsSignedAsTheSDKSignsIt(t *testing.T) {
	creds := credentials.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG", SessionToken: "session"}
	var checked bool
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != "TrentService.GetPublicKey" ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || string(body) != `{"KeyId":"arn:aws:kms:eu-west-1:111122223333:key/k1"}` {
			t.Errorf("request %s %s %v %s", r.Method, r.URL.Path, r.Header, body)
		}
		signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
		if err != nil {
			t.Fatal(err)
		}
		// The same request, with the headers the client signed: the signer
		// leaves Content-Type unsigned, which SigV4 allows.
		again, _ := http.NewRequest("POST", "http://"+r.Host+"/", nil)
		again.Header.Set("X-Amz-Target", r.Header.Get("X-Amz-Target"))
		hash := sha256.Sum256(body)
		err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken},
			again, hex.EncodeToString(hash[:]), "kms", "eu-west-1", signedAt)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.Header.Get("Authorization"), again.Header.Get("Authorization"); got != want {
			t.Errorf("Authorization\n%s\nwant, as the SDK signs it,\n%s", got, want)
		}
		if r.Header.Get("X-Amz-Security-Token") != "session" {
			t.Errorf("no session token: %v", r.Header)
		}
		checked = true
		w.Write([]byte(`{"KeyId":"k1","PublicKey":"AQID"}`))
	}))
	defer server.Close()
	c := &Client{Endpoint: server.URL, Region: "eu-west-1", Credentials: creds}
	der, err := c.GetPublicKey(context.Background(), "arn:aws:kms:eu-west-1:111122223333:key/k1")
	if err != nil || string(der) != "\x01\x02\x03" || !checked {
		t.Errorf("%q %v", der, err)
	}
}

func TestARefusalIsKMSsError(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(`{"__type":"com.amazonaws.kms#AccessDeniedException","Message":"not authorized to perform kms:GetPublicKey"}`))
	}))
	defer server.Close()
	_, err := (&Client{Endpoint: server.URL, Region: "eu-west-1"}).GetPublicKey(context.Background(), "k1")
	var kmsErr *Error
	if !errors.As(err, &kmsErr) || kmsErr.Type != "AccessDeniedException" || kmsErr.Status != 400 || kmsErr.Message != "not authorized to perform kms:GetPublicKey" {
		t.Errorf("%v", err)
	}
}

func TestTheEndpointComesFromTheRegionOrTheEnvironment(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL_KMS", "")
	if c := FromEnvironment(); c.Endpoint != "https://kms.eu-west-1.amazonaws.com" || c.Region != "eu-west-1" {
		t.Errorf("%+v", c)
	}
	t.Setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:4566")
	if c := FromEnvironment(); c.Endpoint != "http://127.0.0.1:4566" {
		t.Errorf("%+v", c)
	}
}
