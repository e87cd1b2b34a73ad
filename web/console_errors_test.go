package web

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/blocklist"
)

// A refused block, announcement or call-back cancel comes back as its form, filled in as it
// was typed, with the fault in the language of the page it was sent from;
// nothing reaches the store.
func TestFormErrorsKeepWhatWasTyped(t *testing.T) {
	blocked := 0
	adm := &fakeAdmin{block: func(raw, reason string) (blocklist.Record, error) {
		blocked++
		return blocklist.Record{Number: "+6281255550000", Until: time.Now().Add(time.Hour)}, nil
	}}
	inc := &fakeIncidents{}
	c, h := testConsole(t, ConsoleOptions{Admin: adm, Records: fakeRecords{}, Incidents: inc, IncidentPrompts: []string{"incident-fire"}, SoundPrefix: "sound:siaga112/", DefaultCountry: "ID",
		Callbacks: &fakeCallbacks{t: t}})
	sup := signedIn(t, c, h, testSup, testSupPass)

	for _, tc := range []struct {
		name, lang, path, errID string
		form                    url.Values
		want                    string // in the error, in lang
	}{
		{"block unit id", LangID, "/console/blocks", "block-error",
			url.Values{"number": {"0812 5555 0000"}, "for": {"2 jams"}, "reason": {"iseng tiap malam"}}, "“2 jams” bukan lama waktu"},
		{"block unit en", LangEN, "/console/blocks", "block-error",
			url.Values{"number": {"0812 5555 0000"}, "for": {"2 jams"}, "reason": {"pranks every night"}}, "“2 jams” is not a length"},
		{"block number id", LangID, "/console/blocks", "block-error",
			url.Values{"number": {"12ab"}, "for": {"2 jam"}, "reason": {"iseng tiap malam"}}, "“12ab” bukan nomor telepon"},
		{"block no reason id", LangID, "/console/blocks", "block-error",
			url.Values{"number": {"0812 5555 0000"}, "for": {"2 jam"}, "reason": {""}}, "Alasan wajib diisi"},
		{"incident unit id", LangID, "/console/incident/start", "incident-error",
			url.Values{"title": {"Banjir Loktuan"}, "media": {"sound:siaga112/incident-fire"}, "for": {"3 jamm"}}, "“3 jamm” bukan lama waktu"},
		{"incident unit en", LangEN, "/console/incident/start", "incident-error",
			url.Values{"title": {"Flood in Loktuan"}, "media": {"sound:siaga112/incident-fire"}, "for": {"3 jamm"}}, "“3 jamm” is not a length"},
		{"cancel note id", LangID, "/console/calls/c-1/callback/cancel", "cancel-error",
			url.Values{"number": {"0812 5555 0000"}, "note": {""}}, "Alasan pembatalan wajib diisi"},
		{"cancel number en", LangEN, "/console/calls/c-1/callback/cancel", "cancel-error",
			url.Values{"number": {"12ab"}, "note": {"came in person"}}, "Not a caller's number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			back := strings.Replace(tc.path, "/start", "", 1) + "?lang=" + tc.lang
			tc.form.Set("back", back)
			w := sup.do("POST", tc.path, tc.form)
			body := html.UnescapeString(w.Body.String())
			if w.Code != http.StatusBadRequest || !strings.Contains(body, `id="`+tc.errID+`"`) || !strings.Contains(body, `<html lang="`+tc.lang+`"`) {
				t.Fatalf("%d, want 400 with the form and its error in %s: %.600s", w.Code, tc.lang, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("the error does not say %q: %.1500s", tc.want, body)
			}
			for k, v := range tc.form {
				if k == "back" || k == "csrf" || k == "media" || v[0] == "" {
					continue
				}
				if !strings.Contains(body, `value="`+v[0]+`"`) {
					t.Errorf("the form lost %s %q", k, v[0])
				}
			}
			if strings.Contains(body, "invalid") || strings.Contains(body, "want e.g.") {
				t.Errorf("the domain's English reached the page")
			}
		})
	}
	if blocked != 0 || len(inc.started) != 0 {
		t.Fatalf("a refused form reached a store: %d blocks, %d announcements", blocked, len(inc.started))
	}
}
