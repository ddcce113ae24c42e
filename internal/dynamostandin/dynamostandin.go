// Package dynamostandin is Amazon DynamoDB on loopback, for what this
// project calls: PutItem with a condition of the form
// `attribute_not_exists(#k) OR #e < :v`, over DynamoDB's JSON protocol
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html),
// so that a client pointed at it through AWS_ENDPOINT_URL_DYNAMODB runs
// unchanged. Tests use it, and `apictl local`, to play a stage's DPoP replay
// table.
package dynamostandin

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// Region and Account are where the stand-in's tables live.
const (
	Region  = "us-east-1"
	Account = "111122223333"
)

// attributeValue is one DynamoDB AttributeValue: a String or a Number.
type attributeValue struct {
	S *string `json:"S,omitempty"`
	N *string `json:"N,omitempty"`
}

// DynamoDB is the stand-in.
type DynamoDB struct {
	URL string

	mu     sync.Mutex
	tables map[string]*table
	denied bool
	puts   int
}

type table struct {
	key   string                               // the partition key's attribute name
	items map[string]map[string]attributeValue // by the partition key's value
}

// New is a stand-in with no tables; serve it on loopback and set its URL.
func New() *DynamoDB { return &DynamoDB{tables: map[string]*table{}} }

// AddTable creates a table whose partition key is the String attribute key.
func (d *DynamoDB) AddTable(name, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tables[name] = &table{key: key, items: map[string]map[string]attributeValue{}}
}

// Deny makes PutItem answer AccessDeniedException, as a role without
// dynamodb:PutItem on the table gets.
func (d *DynamoDB) Deny() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.denied = true
}

// Puts is how many PutItem calls were written.
func (d *DynamoDB) Puts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.puts
}

// Env is the environment that points a function process at the stand-in.
func (d *DynamoDB) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": d.URL, "AWS_REGION": Region,
		"AWS_ACCESS_KEY_ID": "AKIDSTANDIN", "AWS_SECRET_ACCESS_KEY": "stand-in-secret",
	}
}

// condition is the one form of ConditionExpression the stand-in evaluates.
var condition = regexp.MustCompile(`^attribute_not_exists\((#\w+)\) OR (#\w+) < (:\w+)$`)

// ServeHTTP answers POST / with X-Amz-Target DynamoDB_20120810.PutItem.
func (d *DynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var request struct {
		TableName                 string
		Item                      map[string]attributeValue
		ConditionExpression       string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues map[string]attributeValue
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "DynamoDB_20120810.PutItem" || json.NewDecoder(r.Body).Decode(&request) != nil {
		fail(w, "ValidationException", "the stand-in supports PutItem: a POST of a JSON body with X-Amz-Target DynamoDB_20120810.PutItem")
		return
	}
	if !strings.Contains(r.Header.Get("Authorization"), "/dynamodb/aws4_request") {
		fail(w, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tables[request.TableName]
	switch {
	case d.denied:
		fail(w, "AccessDeniedException", fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/caller/session is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:%s:%s:table/%s because no identity-based policy allows the dynamodb:PutItem action", Account, Account, Region, request.TableName))
		return
	case t == nil:
		fail(w, "ResourceNotFoundException", "Requested resource not found")
		return
	}
	key := request.Item[t.key].S
	if key == nil || *key == "" {
		fail(w, "ValidationException", "One or more parameter values were invalid: Missing the key "+t.key+" in the item")
		return
	}
	if request.ConditionExpression != "" {
		holds, err := evaluate(request.ConditionExpression, request.ExpressionAttributeNames, request.ExpressionAttributeValues, t.items[*key])
		if err != nil {
			fail(w, "ValidationException", "Invalid ConditionExpression: "+err.Error())
			return
		}
		if !holds {
			fail(w, "ConditionalCheckFailedException", "The conditional request failed")
			return
		}
	}
	t.items[*key] = request.Item
	d.puts++
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Write([]byte("{}"))
}

// evaluate decides `attribute_not_exists(#k) OR #e < :v` on the item as it is.
func evaluate(expression string, names map[string]string, values map[string]attributeValue, item map[string]attributeValue) (bool, error) {
	m := condition.FindStringSubmatch(expression)
	if m == nil {
		return false, fmt.Errorf("the stand-in evaluates only attribute_not_exists(#k) OR #e < :v")
	}
	keyName, expiresName, value := names[m[1]], names[m[2]], values[m[3]]
	if keyName == "" || expiresName == "" || value.N == nil {
		return false, fmt.Errorf("an attribute name or a Number value is not defined")
	}
	if item == nil || item[keyName] == (attributeValue{}) {
		return true, nil
	}
	stored := item[expiresName]
	if stored.N == nil {
		return false, nil // no Number to compare: DynamoDB's < is false
	}
	a, okA := new(big.Float).SetString(*stored.N)
	b, okB := new(big.Float).SetString(*value.N)
	if !okA || !okB {
		return false, fmt.Errorf("a Number is malformed")
	}
	return a.Cmp(b) < 0, nil
}

func fail(w http.ResponseWriter, errorType, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + errorType, "message": message})
}
