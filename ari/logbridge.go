package ari

import (
	"context"
	"log/slog"

	expslog "golang.org/x/exp/slog"
)

// newLibraryLogger returns a golang.org/x/exp/slog logger (the type the ARI
// library's native.Options wants) that writes through our log/slog handler,
// so the library's lines carry our attributes, level and format.
func newLibraryLogger(log *slog.Logger) *expslog.Logger {
	return expslog.New(&bridgeHandler{h: log.With("component", "ari-lib").Handler()})
}

// bridgeHandler is an x/exp/slog Handler forwarding to a log/slog Handler.
// The two packages have identical shapes but distinct types, so records and
// attributes are copied field by field.
type bridgeHandler struct {
	h slog.Handler
}

func (b *bridgeHandler) Enabled(ctx context.Context, l expslog.Level) bool {
	return b.h.Enabled(ctx, slog.Level(l))
}

func (b *bridgeHandler) Handle(ctx context.Context, r expslog.Record) error {
	out := slog.NewRecord(r.Time, slog.Level(r.Level), r.Message, r.PC)
	r.Attrs(func(a expslog.Attr) bool {
		out.AddAttrs(convertAttr(a))
		return true
	})
	return b.h.Handle(ctx, out)
}

func (b *bridgeHandler) WithAttrs(as []expslog.Attr) expslog.Handler {
	conv := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		conv = append(conv, convertAttr(a))
	}
	return &bridgeHandler{h: b.h.WithAttrs(conv)}
}

func (b *bridgeHandler) WithGroup(name string) expslog.Handler {
	return &bridgeHandler{h: b.h.WithGroup(name)}
}

// convertAttr copies one attribute, resolving LogValuers and recursing into
// groups; the remaining kinds map one to one.
func convertAttr(a expslog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case expslog.KindGroup:
		group := v.Group()
		conv := make([]any, 0, len(group))
		for _, g := range group {
			conv = append(conv, convertAttr(g))
		}
		return slog.Group(a.Key, conv...)
	case expslog.KindString:
		return slog.String(a.Key, v.String())
	case expslog.KindInt64:
		return slog.Int64(a.Key, v.Int64())
	case expslog.KindUint64:
		return slog.Uint64(a.Key, v.Uint64())
	case expslog.KindFloat64:
		return slog.Float64(a.Key, v.Float64())
	case expslog.KindBool:
		return slog.Bool(a.Key, v.Bool())
	case expslog.KindDuration:
		return slog.Duration(a.Key, v.Duration())
	case expslog.KindTime:
		return slog.Time(a.Key, v.Time())
	default:
		return slog.Any(a.Key, v.Any())
	}
}
