package testkit

import (
	"slices"
	"testing"
	"time"

	"github.com/siaga112/siaga112/events"
)

func TestOnlyAndTypes(t *testing.T) {
	menu, err := events.New(events.TypeMenu, "c1", "n", events.Caller{}, events.Menu{Attempt: 2, Digits: "1", Result: events.MenuValid})
	if err != nil {
		t.Fatal(err)
	}
	ended, err := events.New(events.TypeEnded, "c1", "n", events.Caller{}, events.Ended{Outcome: events.OutcomeEmergency})
	if err != nil {
		t.Fatal(err)
	}
	evs := []events.Envelope{menu, ended}
	if got := Types(evs); !slices.Equal(got, []events.Type{events.TypeMenu, events.TypeEnded}) {
		t.Fatalf("Types = %v", got)
	}
	if m := Only[events.Menu](t, evs, events.TypeMenu); m.Attempt != 2 || m.Digits != "1" {
		t.Fatalf("Only menu = %+v", m)
	}
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	start := time.Now()
	Eventually(t, 5*time.Second, "time to pass", func() bool { return time.Since(start) > 30*time.Millisecond })
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("Eventually returned before its condition held")
	}
}

func TestBaseNames(t *testing.T) {
	got := BaseNames([]string{"siaga112/menu", "greeting", "a/b/c"})
	if !slices.Equal(got, []string{"menu", "greeting", "c"}) {
		t.Fatalf("BaseNames = %v", got)
	}
}
