// Package kmsstandin is AWS KMS on loopback: it speaks KMS's JSON protocol
// (https://docs.aws.amazon.com/kms/latest/APIReference/) for Sign and
// GetPublicKey with RSA_2048 SIGN_VERIFY keys, so that the AWS SDK,
// pointed at it through its endpoint setting, runs unchanged. It can deny an
// operation, as a missing key-policy grant would. Tests use it, and
// `apictl local`, to play the KMS key of a stage that is its own issuer.
package kmsstandin

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Region and Account are where the stand-in's keys live.
const (
	Region  = "us-east-1"
	Account = "111122223333"
)

// KMS is the stand-in.
type KMS struct {
	URL string

	mu     sync.Mutex
	keys   map[string]*rsa.PrivateKey // by key ID
	denied map[string]bool            // operations answered AccessDeniedException
}

// New is a stand-in with no keys; serve it on loopback and set its URL
// (testsupport.StartKMS does both for a test).
func New() *KMS {
	return &KMS{keys: map[string]*rsa.PrivateKey{}, denied: map[string]bool{}}
}

// AddKey holds key as the RSA_2048 SIGN_VERIFY key id, and returns its ARN.
func (k *KMS) AddKey(id string, key *rsa.PrivateKey) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[id] = key
	return ARN(id)
}

// ARN is the ARN of the key id.
func ARN(id string) string { return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", Region, Account, id) }

// Deny makes an operation ("Sign", "GetPublicKey") answer AccessDeniedException.
func (k *KMS) Deny(operation string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.denied[operation] = true
}

// Env is the environment that points the AWS SDK of a function process at the stand-in.
func (k *KMS) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_KMS": k.URL, "AWS_REGION": Region,
		"AWS_ACCESS_KEY_ID": "AKIDSTANDIN", "AWS_SECRET_ACCESS_KEY": "stand-in-secret",
	}
}

// ServeHTTP answers POST / with X-Amz-Target TrentService.<Operation>.
func (k *KMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	operation, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	var request struct {
		KeyID            string `json:"KeyId"`
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	if !ok || r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&request) != nil {
		fail(w, "ValidationException", "expected a POST of a JSON body with X-Amz-Target TrentService.<Operation>")
		return
	}
	id := request.KeyID[strings.LastIndex(request.KeyID, "/")+1:]
	k.mu.Lock()
	key, denied := k.keys[id], k.denied[operation]
	k.mu.Unlock()
	switch {
	case denied:
		fail(w, "AccessDeniedException", fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/caller/session is not authorized to perform: kms:%s on resource: %s because no resource-based policy allows the kms:%s action", Account, operation, ARN(id), operation))
	case key == nil:
		fail(w, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", ARN(id)))
	case operation == "GetPublicKey":
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		answer(w, map[string]any{"KeyId": ARN(id), "PublicKey": der, "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY",
			"SigningAlgorithms": []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}})
	case operation == "Sign" && request.SigningAlgorithm == "RSASSA_PKCS1_V1_5_SHA_256" && request.MessageType == "DIGEST" && len(request.Message) == 32:
		signature, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, request.Message)
		if err != nil {
			fail(w, "KMSInternalException", err.Error())
			return
		}
		answer(w, map[string]any{"KeyId": ARN(id), "Signature": signature, "SigningAlgorithm": request.SigningAlgorithm})
	default:
		fail(w, "ValidationException", "the stand-in supports GetPublicKey, and Sign of a SHA-256 DIGEST with RSASSA_PKCS1_V1_5_SHA_256")
	}
}

func answer(w http.ResponseWriter, body any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(body)
}

func fail(w http.ResponseWriter, errorType, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", errorType)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": errorType, "message": message})
}
