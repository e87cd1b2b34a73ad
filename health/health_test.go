package health

import (
	"encoding/json"
	"testing"
)

// TestComposeGravestFirst: the whole takes the gravest check's level, and
// its reason lists the checks that are not ok, the gravest first, then by
// name.
func TestComposeGravestFirst(t *testing.T) {
	for _, tc := range []struct {
		name   string
		checks map[string]Check
		status string
		reason string
	}{
		{"none", nil, LevelOK, ""},
		{"all ok", map[string]Check{"nats": OK(nil), "ari": OK(nil)}, LevelOK, ""},
		{"degraded and down", map[string]Check{
			"publisher": Degraded(nil, "spooling"),
			"ari":       Down(nil, "no node"),
			"nats":      OK(nil),
			"jetstream": Degraded(nil, "stream gone"),
		}, LevelDown, "ari: no node; jetstream: stream gone; publisher: spooling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Compose(tc.checks)
			if h.Status != tc.status || h.Reason != tc.reason || h.OK != (tc.status == LevelOK) || h.Checks == nil {
				t.Errorf("Compose = %+v, want status %s reason %q", h, tc.status, tc.reason)
			}
		})
	}
}

// TestLevel: a check that names its state in words of its own is not ok
// unless it says ok.
func TestLevel(t *testing.T) {
	for _, tc := range []struct {
		c    Check
		want string
	}{
		{OK(nil), LevelOK},
		{Down(nil, "x"), LevelDown},
		{Check{OK: true}, LevelOK},
		{Check{Status: "connection closed"}, LevelDegraded},
		{Check{}, LevelDegraded},
	} {
		if got := tc.c.Level(); got != tc.want {
			t.Errorf("%+v.Level() = %s, want %s", tc.c, got, tc.want)
		}
	}
}

// TestJSONFieldNames: /healthz's field names are a contract with the
// monitoring that reads them (README); the facts kept for the board are not
// in it.
func TestJSONFieldNames(t *testing.T) {
	c := Degraded(map[string]int{"lag": 3}, "late")
	c.Nodes = []Node{{Name: "a1"}}
	c.Spool = &Spool{Dropped: 1}
	raw, err := json.Marshal(Compose(map[string]Check{"reports": c, "nats": OK(nil)}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ok":false,"status":"degraded","reason":"reports: late","checks":{"nats":{"ok":true,"status":"ok"},"reports":{"ok":false,"status":"degraded","reason":"late","detail":{"lag":3}}}}`
	if string(raw) != want {
		t.Errorf("JSON\n%s\nwant\n%s", raw, want)
	}
}
