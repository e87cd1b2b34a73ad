package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrReadStalled is returned by ReadAll when the stream stops delivering
// before the last stored event was read and ctx ends.
var ErrReadStalled = errors.New("events: stream stopped delivering")

// Follow hands fn every event stored on subjects (SubjectAllCalls when
// empty) after Follow was called, in stream order, until ctx ends. It uses
// an ordered consumer: nothing is acknowledged and nothing is left on the
// server afterwards, so it suits observers (the load tool's probe), not
// workers. It returns once the consumer is set up. Messages that do not
// decode are skipped. fn runs on the client's delivery goroutine and must
// return quickly.
func (b *Bus) Follow(ctx context.Context, subjects []string, fn func(Envelope)) error {
	if len(subjects) == 0 {
		subjects = []string{SubjectAllCalls}
	}
	cons, err := b.JS.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: subjects,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("events: follow: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if e, err := Decode(m.Data()); err == nil {
			fn(e)
		}
	})
	if err != nil {
		return fmt.Errorf("events: follow: %w", err)
	}
	// The consumer belongs to ctx: it stops when ctx ends.
	go func() {
		<-ctx.Done()
		cc.Stop()
	}()
	return nil
}

// ReadAll hands fn, in stream order, every event stored on subjects
// (SubjectAllCalls when empty) from the first up to the last one stored
// when ReadAll was called, and returns. Messages that do not decode are
// skipped. ctx bounds the whole read; a stream that stops delivering before
// the end gives ErrReadStalled.
func (b *Bus) ReadAll(ctx context.Context, subjects []string, fn func(Envelope)) error {
	if len(subjects) == 0 {
		subjects = []string{SubjectAllCalls}
	}
	stream, err := b.JS.Stream(ctx, StreamName)
	if err != nil {
		return fmt.Errorf("events: read all: %w", err)
	}
	// Counting the matching messages first means a stream that holds only
	// other subjects is read as empty instead of waited on until ctx ends.
	var matching uint64
	var last uint64
	for _, subj := range subjects {
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			return fmt.Errorf("events: read all: %w", err)
		}
		for _, n := range info.State.Subjects {
			matching += n
		}
		last = info.State.LastSeq
	}
	if matching == 0 {
		return nil
	}
	cons, err := b.JS.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		return fmt.Errorf("events: read all: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("events: read all: %w", err)
	}
	defer it.Stop()
	for {
		m, err := nextMsg(ctx, it)
		if err != nil {
			return fmt.Errorf("events: read all: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("events: read all: %w", err)
		}
		if e, err := Decode(m.Data()); err == nil {
			fn(e)
		}
		// The filter may skip the stream's last messages, so the
		// consumer's pending count also says when the read is done.
		if md.Sequence.Stream >= last || md.NumPending == 0 {
			return nil
		}
	}
}

// nextMsg waits for the iterator's next message, giving up with ctx. The
// iterator has no context of its own, so on ctx's end it is stopped, which
// also ends the goroutine's Next.
func nextMsg(ctx context.Context, it jetstream.MessagesContext) (jetstream.Msg, error) {
	type res struct {
		m   jetstream.Msg
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := it.Next()
		ch <- res{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		it.Stop()
		return nil, fmt.Errorf("%w: %w", ErrReadStalled, ctx.Err())
	}
}
