package web

// Listening to an incident announcement before starting it. A prepared
// announcement (ivr.incident_prompts) is a sound file on the Asterisk
// host, which ARI describes (GET /sounds/{id}) but never hands out; the
// binary carries the shipped prompts instead (ConsoleOptions.Sounds) and
// plays those. One recorded by phone is a stored recording, which ARI
// does hand out (GET /recordings/stored/{name}/file, Recordings.Fetch).

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siaga112/siaga112/flows"
)

// maxListenBytes bounds one announcement played on the incident page: over
// two minutes of 16 kHz audio, where a recording by phone stops at 60 s of
// 8 kHz (under 1 MB) and the shipped prompts are under 200 kB.
const maxListenBytes = 4 << 20

// maxChoiceLabel bounds the words of a prepared announcement shown in the
// start form's list; the list to listen to shows them whole.
const maxChoiceLabel = 70

// promptChoice is one announcement the incident page offers.
type promptChoice struct {
	// Media is what the start form posts (sound:... or recording:...).
	Media string
	// Name is the choice as a person reads it: the words of a prepared
	// announcement, or when one recorded by phone was made; ID is the raw
	// sound or recording name.
	Name, ID string
	// Label is Name cut short for the start form's list.
	Label string
	// NameLang is the language of Name when it is not the page's (a
	// prepared announcement whose words exist only in the callers'
	// language).
	NameLang string
	// Listen is the URL the page plays the announcement from; empty when
	// it cannot be played here.
	Listen string
	// sound is the file of a prepared announcement in ConsoleOptions.Sounds
	// ("" when the binary does not carry it); recording the stored
	// recording of one recorded by phone.
	sound, recording string
}

// announcements returns the choices the incident page offers, prepared ones
// first, then those recorded by phone (newest first), without their words:
// the listen route matches against them and needs no more. Asking Asterisk
// for the recordings costs a request, so only withRecorded asks it.
func (c *Console) announcements(ctx context.Context, withRecorded bool) []promptChoice {
	var out []promptChoice
	folder := strings.TrimPrefix(c.o.SoundPrefix, "sound:")
	for _, p := range c.o.IncidentPrompts {
		ch := promptChoice{Media: c.o.SoundPrefix + p, ID: p}
		// The configured name is checked by config validation; the path is
		// still checked here, as the one thing that reaches a file.
		if f := path.Join(c.promptLanguage(), folder, p+".wav"); c.o.Sounds != nil && fs.ValidPath(f) && !strings.Contains(p, "/") {
			if st, err := fs.Stat(c.o.Sounds, f); err == nil && st.Mode().IsRegular() && st.Size() <= maxListenBytes {
				ch.sound = f
			}
		}
		out = append(out, ch)
	}
	if withRecorded && c.o.Recordings != nil {
		// A node that does not answer only hides its own.
		names, err := c.o.Recordings.List(ctx, flows.RecordingPrefix)
		if err != nil {
			c.log.Warn("recorded announcements not listed", "err", err)
		}
		slices.Reverse(names)
		for _, n := range names {
			out = append(out, promptChoice{Media: "recording:" + n, ID: n, recording: n})
		}
	}
	return out
}

// promptLanguage is the folder of the prompts callers hear.
func (c *Console) promptLanguage() string { return cmp.Or(c.o.PromptLanguage, LangID) }

// recordedAt is when an announcement recorded by phone was made, read from
// its name (flows.RecordingPrefix + UTC "20060102-150405-<ms>").
func recordedAt(name string) (time.Time, bool) {
	stamp := strings.TrimPrefix(name, flows.RecordingPrefix)
	if len(stamp) < len("20060102-150405") {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102-150405", stamp[:len("20060102-150405")])
	return t, err == nil
}

// incidentChoices are the announcements with their names in lang and the
// URLs to hear them from.
func (c *Console) incidentChoices(ctx context.Context, lang string) []promptChoice {
	out := c.announcements(ctx, true)
	for i := range out {
		ch := &out[i]
		switch {
		case ch.recording != "":
			ch.Name = fmt.Sprintf(text(lang, "incident.recorded"), strings.TrimPrefix(ch.recording, flows.RecordingPrefix))
			if t, ok := recordedAt(ch.recording); ok {
				ch.Name = fmt.Sprintf(text(lang, "incident.recorded_at"), consoleTime(t, c.o.Location))
			}
		case ch.sound != "":
			// The words are shown only with a file the binary carries: they
			// are the text that file was spoken from. The page's language
			// first, as a reader of that page reads it; else the callers'.
			ch.Name = c.promptWords(lang, ch.ID)
			if ch.Name == "" {
				if ch.Name = c.promptWords(c.promptLanguage(), ch.ID); ch.Name != "" && c.promptLanguage() != lang {
					ch.NameLang = c.promptLanguage()
				}
			}
		}
		if ch.Name == "" {
			ch.Name = ch.ID
		}
		ch.Label = ch.Name
		if utf8.RuneCountInString(ch.Label) > maxChoiceLabel {
			ch.Label = string([]rune(ch.Label)[:maxChoiceLabel-1]) + "…"
		}
		if ch.recording == "" && ch.Name != ch.ID {
			ch.Label += " (" + ch.ID + ")"
		}
		if ch.sound != "" || ch.recording != "" {
			ch.Listen = "/console/incident/listen?media=" + url.QueryEscape(ch.Media) + "&lang=" + lang
		}
	}
	return out
}

// promptWords is the text a shipped prompt was spoken from in lang
// (prompts.<lang>.txt), "" when there is none.
func (c *Console) promptWords(lang, name string) string {
	if c.o.Sounds == nil {
		return ""
	}
	f, err := c.o.Sounds.Open("prompts." + lang + ".txt")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if key, words, ok := strings.Cut(line, "|"); ok && key == name {
			return strings.TrimSpace(words)
		}
	}
	return ""
}

// listen plays one of the incident page's announcements to a signed-in
// member of staff. The announcement is named by what the start form posts
// (?media=) and looked up among the choices the page offers; nothing from
// the URL becomes a path or a recording name.
func (c *Console) listen(w http.ResponseWriter, r *http.Request) {
	lang := negotiate(r, c.o.Language).Tag
	if _, ok := c.Who(r); !ok {
		listenRefused(w, http.StatusUnauthorized, text(lang, "listen.signin"))
		return
	}
	media := r.URL.Query().Get("media")
	all := c.announcements(r.Context(), strings.HasPrefix(media, "recording:"))
	i := slices.IndexFunc(all, func(ch promptChoice) bool { return ch.Media == media })
	if i < 0 {
		listenRefused(w, http.StatusNotFound, text(lang, "listen.unknown"))
		return
	}
	ch := all[i]
	var (
		audio []byte
		ctype string
		err   error
	)
	switch {
	case ch.recording != "":
		audio, ctype, err = c.fetchAnnouncement(r.Context(), ch.recording)
	case ch.sound != "":
		ctype = "audio/wav"
		audio, err = readBounded(c.o.Sounds, ch.sound)
	default:
		err = fmt.Errorf("%s is not carried by this binary", media)
	}
	if err != nil {
		c.log.Warn("announcement not played to the console", "media", media, "err", err)
		listenRefused(w, http.StatusServiceUnavailable, text(lang, "listen.cannot"))
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// ServeContent answers the range requests a browser's player makes.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(audio))
}

// fetchAnnouncement reads a recording made by phone from Asterisk, whole
// (it is small; the player asks for ranges of it) and only when it is
// audio.
func (c *Console) fetchAnnouncement(ctx context.Context, name string) ([]byte, string, error) {
	if c.o.Recordings == nil {
		return nil, "", fmt.Errorf("no Asterisk node configured")
	}
	body, ctype, err := c.o.Recordings.Fetch(ctx, "", name)
	if err != nil {
		return nil, "", err
	}
	defer body.Close()
	if mt, _, err := mime.ParseMediaType(ctype); err != nil || !strings.HasPrefix(mt, "audio/") {
		return nil, "", fmt.Errorf("recording %s is %q, not audio a browser plays", name, ctype)
	}
	audio, err := io.ReadAll(io.LimitReader(body, maxListenBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(audio) > maxListenBytes {
		return nil, "", fmt.Errorf("recording %s is over %d bytes", name, maxListenBytes)
	}
	return audio, ctype, nil
}

// readBounded reads a file of fsys of at most maxListenBytes.
func readBounded(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxListenBytes+1))
	if err == nil && len(b) > maxListenBytes {
		err = fmt.Errorf("%s is over %d bytes", name, maxListenBytes)
	}
	return b, err
}

// listenRefused answers the listen route with a sentence in the page's
// language: a player shows nothing of it, but a person who opens the link
// reads it.
func listenRefused(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
