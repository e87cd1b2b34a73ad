// Package logging builds the *slog.Logger that cmd/siaga112 passes down to
// every component. Nothing here is global: the logger is a value the
// caller owns.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Errors returned for values outside the supported sets.
var (
	ErrLevel  = errors.New("logging: unknown level")
	ErrFormat = errors.New("logging: unknown format")
)

// ParseLevel reads debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%w %q (want debug, info, warn or error)", ErrLevel, s)
}

// New returns a logger writing to w at the given level, in "text"
// (logfmt-like, for people) or "json" (one object per line, for log
// collectors) format.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w %q (want text or json)", ErrFormat, format)
}
