package configs

import (
	"strings"
	"testing"
)

// Env names are derived from keys by replacing "." with "_"; two keys that
// map to one name could not both be set from the environment or by flag.
func TestSchemaEnvNamesAreUnique(t *testing.T) {
	s := newSchema()
	if len(s.byEnv) != len(s.keys) {
		t.Fatalf("%d keys but %d distinct env names", len(s.keys), len(s.byEnv))
	}
	for _, k := range s.keys {
		if !strings.HasPrefix(k.env, EnvPrefix+"_") || strings.ContainsAny(k.env, ".-") {
			t.Errorf("key %s has env name %s", k.name, k.env)
		}
		// A key's own variable must never look like an indexed list
		// variable (<LIST>_<i>_<FIELD>); names such as SIAGA112_IVR_MENU_ATTEMPTS
		// are fine because known names are looked up first.
		for _, other := range s.keys {
			rest, ok := strings.CutPrefix(k.env, other.env+"_")
			if ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
				t.Errorf("%s looks like an indexed variable of %s", k.env, other.name)
			}
		}
	}
}
