package stacks

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// stagesObject accepts the stages as cdk.json holds them (an object) or as a
// JSON string, which is what "-c stages='{...}'" passes.
func stagesObject(value any) (map[string]any, error) {
	switch v := value.(type) {
	case nil:
		return nil, fmt.Errorf(`cdk.json: context %q is missing: declare your stages there (see docs/stages.md)`, StagesContextKey)
	case map[string]any:
		return v, nil
	case string:
		var parsed map[string]any
		if err := json.Unmarshal([]byte(v), &parsed); err != nil {
			return nil, fmt.Errorf("context %q: expected a JSON object of stages: %v", StagesContextKey, err)
		}
		return parsed, nil
	default:
		return nil, fmt.Errorf("context %q: expected an object of stages, got %s", StagesContextKey, jsonKind(v))
	}
}

// applyOverrides sets "stages.<stage>.<field path>" context values into the raw
// stages. A value that parses as JSON is used as JSON (numbers, lists); any other
// value is a string.
func applyOverrides(stages map[string]any, context map[string]any) error {
	prefix := StagesContextKey + "."
	keys := make([]string, 0)
	for key := range context {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for _, key := range keys {
		path := strings.Split(strings.TrimPrefix(key, prefix), ".")
		if len(path) < 2 || slices.Contains(path, "") {
			return fmt.Errorf("context override %q: expected stages.<stage>.<field>, for example stages.dev.auth0.domain", key)
		}
		value := context[key]
		if s, ok := value.(string); ok {
			var parsed any
			if json.Unmarshal([]byte(s), &parsed) == nil {
				value = parsed
			}
		}
		node := stages
		for i, step := range path[:len(path)-1] {
			next, ok := node[step].(map[string]any)
			if !ok {
				if node[step] != nil {
					return fmt.Errorf("context override %q: %s is not an object", key, strings.Join(path[:i+1], "."))
				}
				next = map[string]any{}
				node[step] = next
			}
			node = next
		}
		node[path[len(path)-1]] = value
	}
	return nil
}
