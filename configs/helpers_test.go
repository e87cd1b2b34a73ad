package configs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siaga112/siaga112/configs"
)

// clearEnv removes every SIAGA112_* variable for the duration of the test,
// so the machine's environment cannot change what a test loads.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, configs.EnvPrefix+"_") {
			t.Setenv(name, val) // restores the value after the test
			if err := os.Unsetenv(name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// writeConfig writes a config file in a temporary directory.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "siaga112.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadFile loads path with no search path and no flags.
func loadFile(t *testing.T, path string) (configs.Config, error) {
	t.Helper()
	return configs.Load(configs.LoadOptions{File: path, Search: []string{}})
}

// fieldErrors returns the problems of a *ValidationError, failing the test
// when err is anything else.
func fieldErrors(t *testing.T, err error) []configs.FieldError {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a *configs.ValidationError")
	}
	var ve *configs.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %T %v, want a *configs.ValidationError", err, err)
	}
	if !errors.Is(err, configs.ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) is false for %v", err)
	}
	return ve.Errors
}

// wantProblems checks that err reports exactly the given keys, and that
// each message line for a key contains the given text.
func wantProblems(t *testing.T, err error, want map[string]string) {
	t.Helper()
	got := fieldErrors(t, err)
	byKey := map[string]string{}
	for _, fe := range got {
		if _, dup := byKey[fe.Key]; dup {
			t.Errorf("key %s reported twice in:\n%v", fe.Key, err)
		}
		byKey[fe.Key] = fe.Error()
	}
	for k, text := range want {
		line, ok := byKey[k]
		if !ok {
			t.Errorf("no problem reported for %s; got:\n%v", k, err)
			continue
		}
		if !strings.Contains(line, text) {
			t.Errorf("problem for %s is %q, want it to contain %q", k, line, text)
		}
	}
	for k, line := range byKey {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected problem: %s", line)
		}
	}
}
