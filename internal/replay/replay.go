// Package replay accepts each DPoP proof once, across every instance of the
// authorizer: it records the proof's key in a DynamoDB table with one
// conditional PutItem, which fails when the key is there and not yet
// expired (RFC 9449 §11.1). Expired items are refused by the condition, not
// by DynamoDB's TTL, which deletes them only eventually
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
package replay

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/auth0-http-api/cdk/internal/awsjson"
)

// The table's attributes: the partition key, and the TTL attribute, a
// Number of epoch seconds.
const (
	KeyAttribute     = "id"
	ExpiresAttribute = "expires"
)

// Store records proofs in one table.
type Store struct {
	Client *awsjson.Client
	Table  string
	Now    func() time.Time // nil: time.Now
}

// Once records key until expires, and tells whether it was new: false when
// a proof with the same key was recorded and has not expired.
func (s *Store) Once(ctx context.Context, key string, expires time.Time) (bool, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	seconds := func(t time.Time) map[string]string { return map[string]string{"N": strconv.FormatInt(t.Unix(), 10)} }
	err := s.Client.Call(ctx, awsjson.DynamoDB, "PutItem", map[string]any{
		"TableName": s.Table,
		"Item": map[string]any{
			KeyAttribute:     map[string]string{"S": key},
			ExpiresAttribute: seconds(expires),
		},
		"ConditionExpression":       "attribute_not_exists(#id) OR #expires < :now",
		"ExpressionAttributeNames":  map[string]string{"#id": KeyAttribute, "#expires": ExpiresAttribute},
		"ExpressionAttributeValues": map[string]any{":now": seconds(now())},
	}, &struct{}{})
	var refused *awsjson.Error
	if errors.As(err, &refused) && refused.Type == "ConditionalCheckFailedException" {
		return false, nil
	}
	return err == nil, err
}
