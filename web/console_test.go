package web

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/siaga112/siaga112/console"
	"github.com/siaga112/siaga112/events"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSessionsExpireAndEnd(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	s := newSessions(time.Hour, c.now)
	id, sess, _ := s.create(console.Account{Name: "siti", Role: console.RoleSupervisor})
	if id == "" || sess.CSRF == "" || id == sess.CSRF {
		t.Fatalf("id %q csrf %q: want two different random tokens", id, sess.CSRF)
	}
	if got, ok := s.get(id); !ok || got.Name != "siti" || !got.Supervisor() {
		t.Fatalf("get = %+v, %v", got, ok)
	}
	c.t = c.t.Add(59 * time.Minute)
	if _, ok := s.get(id); !ok {
		t.Fatal("session gone before its time")
	}
	c.t = c.t.Add(time.Minute)
	if _, ok := s.get(id); ok {
		t.Fatal("session still valid after its time")
	}
	id2, _, _ := s.create(console.Account{Name: "budi", Role: console.RoleOperator})
	s.endAccount("budi")
	if _, ok := s.get(id2); ok {
		t.Fatal("endAccount left the session")
	}
	if _, ok := s.get(""); ok {
		t.Fatal("empty id accepted")
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/numbers/+628": "/numbers/+628", "": "/", "//evil.example/": "/", "https://evil.example/": "/",
		"/\\evil": "/", "javascript:alert(1)": "/", "/?lang=en": "/?lang=en",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func env(t *testing.T, typ events.Type, callID, number string, data any) events.Envelope {
	t.Helper()
	e, err := events.New(typ, callID, "n1", events.Caller{Number: number, Presentation: events.PresentationAllowed}, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestHistoryBuilder(t *testing.T) {
	const me, other = "+6281234567890", "+6289999999999"
	b := newHistoryBuilder(me)
	until := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	evs := []events.Envelope{
		env(t, events.TypeStarted, "c1", me, events.Started{Dialed: "112"}),
		env(t, events.TypeStarted, "c9", other, events.Started{Dialed: "112"}),
		env(t, events.TypeClassified, "c1", me, events.Classified{Outcome: events.OutcomeEmergency, EmergencyType: "fire", CallRecording: "siaga112/c1"}),
		env(t, events.TypeTransferred, "c1", me, events.Transferred{EmergencyType: "fire", SecondsToQueue: 1.2}),
		env(t, events.TypeVerdict, "c1", "", events.Verdict{Verdict: events.VerdictGenuine, By: "siti"}),
		env(t, events.TypeVerdict, "c9", "", events.Verdict{Verdict: events.VerdictPrank, By: "siti"}),
		env(t, events.TypeStarted, "c2", me, events.Started{Dialed: "112", Blocked: true}),
		env(t, events.TypeClassified, "c2", me, events.Classified{Outcome: events.OutcomeSilentHelp, Callback: true}),
		env(t, events.TypeHandled, "c2", "", events.Handled{Action: events.HandledCalledBack, By: "budi"}),
		env(t, events.TypeBlocklistChanged, "", "", events.BlocklistChanged{Number: me, Until: &until, Strikes: 3, Reason: "3 strikes"}),
		env(t, events.TypeTaken, "c2", "", events.Taken{By: "siti"}),
		env(t, events.TypeBlocklistChanged, "", "", events.BlocklistChanged{Number: other, Strikes: 1}),
	}
	// c2 happened after c1.
	evs[6].Time = evs[0].Time.Add(time.Minute)
	for _, e := range evs {
		b.add(e)
	}
	h := b.result()
	if len(h.Calls) != 2 || h.Calls[0].CallID != "c2" || h.Calls[1].CallID != "c1" {
		b, _ := json.Marshal(h.Calls)
		t.Fatalf("calls %s, want c2 then c1 (newest first), without the other number's", b)
	}
	c1, c2 := h.Calls[1], h.Calls[0]
	if c1.Outcome != events.OutcomeEmergency || c1.EmergencyType != "fire" || c1.SecondsToQueue == nil || *c1.SecondsToQueue != 1.2 ||
		c1.CallRecording != "siaga112/c1" || len(c1.Verdicts) != 1 || c1.Verdicts[0].By != "siti" {
		t.Errorf("c1 = %+v", c1)
	}
	if !c2.Blocked || !c2.Callback || len(c2.Handled) != 1 || c2.Handled[0].Action != events.HandledCalledBack || c2.SecondsToQueue != nil ||
		len(c2.Taken) != 1 || c2.Taken[0].By != "siti" {
		t.Errorf("c2 = %+v", c2)
	}
	if len(h.Blocks) != 1 || h.Blocks[0].Strikes != 3 {
		t.Errorf("blocks %+v, want the one change of this number", h.Blocks)
	}
}

func TestCatalogueComplete(t *testing.T) {
	for key := range locales["id"].msgs {
		if _, ok := locales["en"].msgs[key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
	for key := range locales["en"].msgs {
		if _, ok := locales["id"].msgs[key]; !ok {
			t.Errorf("id lacks %q", key)
		}
	}
	for _, o := range events.AllOutcomes {
		if _, ok := locales["id"].msgs["console.outcome."+string(o)]; !ok {
			t.Errorf("no name for outcome %s", o)
		}
	}
	pages, err := assetsFS.ReadFile("assets/console.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`t \$?\.Lang "([a-z0-9_.]+)"`).FindAllStringSubmatch(string(pages), -1) {
		if _, ok := locales["id"].msgs[m[1]]; !ok {
			t.Errorf("console page asks for %q, missing from the catalogues", m[1])
		}
	}
}
