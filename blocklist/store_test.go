package blocklist

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

func TestKey(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"+6281234567890", "p6281234567890", true},
		{"6281234567890", "", false},
		{"+", "", false},
		{"+62a", "", false},
		{"anonymous", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Key(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("Key(%q) = %q, %v", tc.in, got, err)
			}
			if !tc.ok {
				return
			}
			back, ok := NumberFromKey(got)
			if !ok || back != tc.in {
				t.Fatalf("NumberFromKey(%q) = %q, %v", got, back, ok)
			}
		})
	}
	for _, k := range []string{"x62", "p", "p62x"} {
		if _, ok := NumberFromKey(k); ok {
			t.Fatalf("NumberFromKey(%q) accepted", k)
		}
	}
}

func TestStoreAdminOps(t *testing.T) {
	url := startNATS(t)
	_, js := connect(t, url)
	s := newTestStore(t, js, testPolicy(t))
	ctx := ctxT(t)

	if _, err := s.Get(ctx, testNumber); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a new number: %v", err)
	}
	r, d, err := s.Add(ctx, "0812-3456-7890", 2*time.Hour, "abusive", "budi")
	if err != nil || d.Change != ChangeBlock || r.Number != testNumber || !r.Manual {
		t.Fatalf("Add: %v %+v %+v", err, d, r)
	}
	got, err := s.Get(ctx, testNumber)
	if err != nil || !got.Blocked(time.Now()) || got.SetBy != "admin:budi" || got.Reason != "abusive" {
		t.Fatalf("Get after Add: %v %+v", err, got)
	}
	if _, _, err := s.Add(ctx, "+1 202 555 0143", time.Hour, "", "budi"); err != nil {
		t.Fatalf("Add second: %v", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Number != "+12025550143" || list[1].Number != testNumber {
		t.Fatalf("List: %v %+v", err, list)
	}
	r, d, err = s.Remove(ctx, testNumber, "budi")
	if err != nil || d.Change != ChangeLift || r.Blocked(time.Now()) {
		t.Fatalf("Remove: %v %+v %+v", err, d, r)
	}

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name string
			raw  string
			want error
		}{
			{"garbage", "abc", ErrInvalidNumber},
			{"anonymous", "withheld", ErrAnonymous},
			{"allowlisted", "0811000111", ErrAllowlisted},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if _, _, err := s.Add(ctx, tc.raw, time.Hour, "", "budi"); !errors.Is(err, tc.want) {
					t.Fatalf("Add(%q) = %v, want %v", tc.raw, err, tc.want)
				}
			})
		}
		if _, _, err := s.Remove(ctx, "+441234567890", "budi"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Remove of unknown number: %v", err)
		}
	})
}

// Two worker instances, each with its own connection, add 50 distinct
// strikes to one number at the same time: every strike must be stored.
func TestStoreConcurrentWritersLoseNothing(t *testing.T) {
	url := startNATS(t)
	p := testPolicy(t)
	p.Threshold = 1 << 20 // count only, never block
	const perWriter = 50
	stores := make([]*Store, 2)
	for i := range stores {
		_, js := connect(t, url)
		stores[i] = newTestStore(t, js, p)
	}
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 2*perWriter)
	for w, s := range stores {
		wg.Go(func() {
			for i := range perWriter {
				e := Event{ID: fmt.Sprintf("w%d-e%d", w, i), CallID: fmt.Sprintf("w%d-c%d", w, i), At: time.Now()}
				_, _, err := s.Update(ctx, testNumber, func(r Record) (Record, Decision, error) {
					r, d := p.ApplyOutcome(r, e, events.OutcomeNoInput, 0, "")
					return r, d, nil
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("update: %v", err)
	}
	r, err := stores[0].Get(ctx, testNumber)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Strikes) != 2*perWriter {
		t.Fatalf("stored %d strikes, want %d", len(r.Strikes), 2*perWriter)
	}
}
