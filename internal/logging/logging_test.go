package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/siaga112/siaga112/internal/logging"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, level, format string
		wantDebug           bool
		check               func(t *testing.T, out string)
	}{
		{"text at info hides debug", "info", "text", false, func(t *testing.T, out string) {
			if !strings.Contains(out, "level=INFO") || !strings.Contains(out, "node=asterisk-1") {
				t.Errorf("text output %q", out)
			}
		}},
		{"json at debug", "debug", "json", true, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 lines, got %q", out)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
				t.Fatal(err)
			}
			if rec["level"] != "INFO" || rec["msg"] != "hello" || rec["node"] != "asterisk-1" {
				t.Errorf("json record %v", rec)
			}
		}},
		{"error level hides info", "error", "text", false, func(t *testing.T, out string) {
			if out != "" {
				t.Errorf("want no output, got %q", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := logging.New(&buf, tt.level, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("detail")
			log.Info("hello", "node", "asterisk-1")
			if got := strings.Contains(buf.String(), "detail"); got != tt.wantDebug {
				t.Errorf("debug line shown = %v, want %v", got, tt.wantDebug)
			}
			tt.check(t, buf.String())
		})
	}
}

func TestNewRejectsUnknownValues(t *testing.T) {
	tests := []struct {
		name, level, format string
		want                error
	}{
		{"level", "verbose", "text", logging.ErrLevel},
		{"upper-case level", "INFO", "text", logging.ErrLevel},
		{"format", "info", "xml", logging.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, err := logging.New(&bytes.Buffer{}, tt.level, tt.format)
			if !errors.Is(err, tt.want) || log != nil {
				t.Errorf("got %v, %v; want %v", log, err, tt.want)
			}
		})
	}
}
