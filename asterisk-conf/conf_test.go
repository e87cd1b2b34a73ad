package asteriskconf

// The consistency test: the Asterisk configuration, the prompts,
// docker-compose.yml, the Dockerfiles and deploy/ must agree with
// configs.Default() and with each other. No Docker or Asterisk runs here, so
// this is what stands between a renamed key or extension and a 112 call that
// goes nowhere.

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/siaga112/siaga112/configs"
	"github.com/siaga112/siaga112/flows"
	"github.com/siaga112/siaga112/loadtest"
)

// repoRoot is the repository root as seen from this package's directory,
// where `go test` runs.
const repoRoot = ".."

// Names fixed by the files in this folder (not by configs).
const (
	emergencyContext = "siaga112-emergency"
	loadtestContext  = "siaga112-loadtest"
	configInImage    = "/etc/siaga112/siaga112.yaml"
	stateDir         = "/var/lib/siaga112"
)

// promptLanguages are the languages whose prompts are shipped; the
// configured default language must be one of them.
var promptLanguages = []string{"id", "en"}

func mustConf(t *testing.T, name, comment string) *confFile {
	t.Helper()
	f, err := parseConf(name, comment)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return f
}

func mustDialplan(t *testing.T) dialplan {
	t.Helper()
	dp, err := parseDialplan(mustConf(t, "extensions.conf", ";"))
	if err != nil {
		t.Fatal(err)
	}
	return dp
}

// one returns the only non-template section called name.
func one(t *testing.T, f *confFile, name string) *confSection {
	t.Helper()
	secs := f.named(name)
	if len(secs) != 1 {
		t.Fatalf("%s: want exactly one [%s] section, found %d", f.Path, name, len(secs))
	}
	return secs[0]
}

func want(t *testing.T, s *confSection, path, key, value string) {
	t.Helper()
	got, ok := s.get(key)
	if !ok {
		t.Errorf("%s [%s]: %s is not set, want %q", path, s.Name, key, value)
		return
	}
	if got != value {
		t.Errorf("%s [%s]: %s = %q, want %q", path, s.Name, key, got, value)
	}
}

func hostPort(t *testing.T, raw string) (host, port, path string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	port = u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}[u.Scheme]
	}
	return u.Hostname(), port, u.Path
}

func TestHTTPConfServesTheConfiguredARIAddress(t *testing.T) {
	cfg := configs.Default()
	f := mustConf(t, "http.conf", ";")
	g := one(t, f, "general")
	want(t, g, f.Path, "enabled", "yes")
	bind, _ := g.get("bindaddr")
	port, _ := g.get("bindport")
	prefix, _ := g.get("prefix")
	for _, n := range cfg.ARI.Nodes {
		for _, raw := range []string{n.URL, n.WSURL} {
			t.Run(n.Name+" "+raw, func(t *testing.T) {
				h, p, path := hostPort(t, raw)
				if h != bind {
					t.Errorf("http.conf bindaddr %q, but siaga112 connects to host %q", bind, h)
				}
				if p != port {
					t.Errorf("http.conf bindport %q, but siaga112 connects to port %q", port, p)
				}
				wantPath := "/ari"
				if prefix != "" {
					wantPath = "/" + strings.Trim(prefix, "/") + "/ari"
				}
				if !strings.HasPrefix(path, wantPath) {
					t.Errorf("siaga112 uses path %q, but http.conf prefix %q serves ARI at %q", path, prefix, wantPath)
				}
			})
		}
	}
	if ip := net.ParseIP(bind); ip == nil || !ip.IsLoopback() {
		t.Errorf("http.conf bindaddr %q: the sample must keep ARI on loopback", bind)
	}
}

func TestARIConfMatchesDefaults(t *testing.T) {
	cfg := configs.Default()
	f := mustConf(t, "ari.conf", ";")
	g := one(t, f, "general")
	want(t, g, f.Path, "enabled", "yes")

	origins, _ := g.get("allowed_origins")
	list := strings.Split(origins, ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	if !slices.Contains(list, cfg.ARI.Origin) {
		t.Errorf("ari.conf allowed_origins %q does not contain siaga112's ari.origin %q", origins, cfg.ARI.Origin)
	}
	if slices.Contains(list, "*") {
		t.Errorf("ari.conf allowed_origins must not be * on an emergency PBX")
	}

	// A call found in the operators' queue after siaga112 restarted is
	// published with the type and outcome read from these variables.
	vars, _ := g.get("channelvars")
	for _, v := range []string{flows.VarType, flows.VarOutcome} {
		if !slices.Contains(strings.Split(strings.ReplaceAll(vars, " ", ""), ","), v) {
			t.Errorf("ari.conf channelvars %q does not list %s", vars, v)
		}
	}

	raw, ok := g.get("websocket_write_timeout")
	ms, err := strconv.Atoi(raw)
	switch {
	case !ok:
		t.Errorf("ari.conf: websocket_write_timeout not set; Asterisk's 100 ms default drops the app on a busy moment")
	case err != nil:
		t.Errorf("ari.conf: websocket_write_timeout %q is not a number of milliseconds", raw)
	case ms <= 100 || ms > 10000:
		t.Errorf("ari.conf: websocket_write_timeout %d ms, want above Asterisk's 100 ms default and at most 10 s", ms)
	}

	for _, n := range cfg.ARI.Nodes {
		t.Run("user "+n.Username, func(t *testing.T) {
			u := one(t, f, n.Username)
			want(t, u, f.Path, "type", "user")
			want(t, u, f.Path, "password", n.Password)
			want(t, u, f.Path, "password_format", "plain")
			if ro, _ := u.get("read_only"); ro == "yes" {
				t.Errorf("ari.conf [%s]: read_only = yes, but the IVR must answer and continue calls", n.Username)
			}
		})
	}
}

func TestModulesConfRequiresWhatTheIVRUses(t *testing.T) {
	f := mustConf(t, "modules.conf", ";")
	m := one(t, f, "modules")
	required := m.all("require")
	for _, mod := range []string{
		"res_http_websocket.so", "res_ari.so", "res_ari_channels.so", "res_ari_events.so",
		"res_stasis.so", "app_stasis.so", "res_stasis_playback.so", "res_stasis_recording.so",
		"func_talkdetect.so", "app_queue.so", "format_wav.so", "app_senddtmf.so", "app_mixmonitor.so",
	} {
		if !slices.Contains(required, mod) {
			t.Errorf("modules.conf: no `require = %s`", mod)
		}
	}
	for _, mod := range m.all("noload") {
		if slices.Contains(required, mod) {
			t.Errorf("modules.conf: %s is both required and noload", mod)
		}
	}
}

// callsTo returns the calls of app (case-insensitive) in cs.
func callsTo(cs []call, app string) []call {
	var out []call
	for _, c := range cs {
		if strings.EqualFold(c.App, app) {
			out = append(out, c)
		}
	}
	return out
}

func TestEmergencyNumbersGoToStasis(t *testing.T) {
	cfg := configs.Default()
	dp := mustDialplan(t)
	ctx := dp[emergencyContext]
	if ctx == nil {
		t.Fatalf("extensions.conf: no [%s] context", emergencyContext)
	}
	if _, ok := ctx.Exts["112"]; !ok {
		t.Fatalf("[%s] has no extension 112", emergencyContext)
	}
	for _, ext := range ctx.Order {
		t.Run(ext, func(t *testing.T) {
			cs, err := dp.walk(emergencyContext, ext)
			if err != nil {
				t.Fatal(err)
			}
			stasis := callsTo(cs, "Stasis")
			if len(stasis) != 1 || len(stasis[0].Args) == 0 || stasis[0].Args[0] != cfg.ARI.Application {
				t.Fatalf("%s: want one Stasis(%s), got %v", ext, cfg.ARI.Application, stasis)
			}
			// Every app before Stasis must be a plain Set or the whole-call
			// recording (MixMonitor returns at once): nothing may delay or
			// drop the call on its way into the IVR.
			recorded := false
			for _, c := range cs {
				if strings.EqualFold(c.App, "Stasis") {
					break
				}
				if strings.EqualFold(c.App, "MixMonitor") {
					// The IVR names the recording <call_recording_prefix><uniqueid>.
					want := "${ASTSPOOLDIR}/recording/" + cfg.IVR.CallRecordingPrefix + "${UNIQUEID}.wav"
					if len(c.Args) == 0 || c.Args[0] != want {
						t.Errorf("%s line %d: MixMonitor(%v), want the file %s", ext, c.Line, c.Args, want)
					}
					recorded = true
					continue
				}
				if !strings.EqualFold(c.App, "Set") && !strings.EqualFold(c.App, "NoOp") {
					t.Errorf("%s line %d: %s before Stasis", ext, c.Line, c.App)
				}
			}
			if !recorded && cfg.IVR.CallRecordingPrefix != "" {
				t.Errorf("%s: no MixMonitor before Stasis, but ivr.call_recording_prefix names a whole-call recording", ext)
			}
			lang := ""
			for _, c := range callsTo(cs, "Set") {
				if v, ok := strings.CutPrefix(c.Args[0], "CHANNEL(language)="); ok {
					lang = v
				}
			}
			if lang != cfg.IVR.Language {
				t.Errorf("%s: CHANNEL(language) = %q, want ivr.language %q", ext, lang, cfg.IVR.Language)
			}
			// When Stasis returns (IVR not connected), the call must reach
			// the operators' failover extension and a queue.
			after := cs[slices.IndexFunc(cs, func(c call) bool { return strings.EqualFold(c.App, "Stasis") })+1:]
			reached := false
			for _, c := range after {
				if strings.EqualFold(c.App, "Queue") && c.Context == cfg.IVR.OperatorContext && c.Exten == cfg.IVR.FailoverExtension {
					reached = true
				}
			}
			if !reached {
				t.Errorf("%s: after Stasis returns the call does not reach %s,%s and a Queue: %v",
					ext, cfg.IVR.OperatorContext, cfg.IVR.FailoverExtension, after)
			}
		})
	}

	// The entry contexts (endpoint contexts in pjsip.conf) must reach 112 in
	// the emergency context, not a local extension that shadows it.
	for _, entry := range []string{"from-trunk", "from-sip", loadtestContext} {
		t.Run("112 from "+entry, func(t *testing.T) {
			_, where, ok := dp.find(entry, "112")
			if !ok || where != emergencyContext {
				t.Errorf("112 dialled in [%s] reaches [%s], want [%s]", entry, where, emergencyContext)
			}
		})
	}
}

func TestOperatorContextHasEveryDestination(t *testing.T) {
	cfg := configs.Default()
	dp := mustDialplan(t)
	if dp[cfg.IVR.OperatorContext] == nil {
		t.Fatalf("extensions.conf: no [%s] (ivr.operator_context)", cfg.IVR.OperatorContext)
	}
	queues := mustConf(t, "queues.conf", ";")

	dests := []string{cfg.IVR.FailoverExtension, "i"}
	for _, e := range cfg.IVR.Menu {
		dests = append(dests, e.Extension)
	}
	for _, ext := range dests {
		t.Run(ext, func(t *testing.T) {
			if _, ok := dp[cfg.IVR.OperatorContext].Exts[ext]; !ok {
				t.Fatalf("[%s] has no extension %q", cfg.IVR.OperatorContext, ext)
			}
			cs, err := dp.walk(cfg.IVR.OperatorContext, ext)
			if err != nil {
				t.Fatal(err)
			}
			qs := callsTo(cs, "Queue")
			if len(qs) == 0 {
				t.Fatalf("%s never reaches a Queue: %v", ext, cs)
			}
			for _, q := range qs {
				secs := queues.named(q.Args[0])
				if len(secs) != 1 {
					t.Errorf("%s line %d: Queue(%s), but queues.conf has %d such queue", ext, q.Line, q.Args[0], len(secs))
					continue
				}
				if len(queues.effective(secs[0]).all("member")) == 0 {
					t.Errorf("queues.conf [%s] has no member", q.Args[0])
				}
			}
			if callsTo(cs, "Hangup") != nil {
				t.Errorf("%s hangs up; an emergency call must wait for an operator", ext)
			}
		})
	}

	// ivr.menu[].queue is what the IVR asks Asterisk about (QUEUE_MEMBER
	// free) before the location question: it must be the queue the
	// entry's extension puts the caller in first.
	for i, e := range cfg.IVR.Menu {
		t.Run("queue of "+e.Extension, func(t *testing.T) {
			cs, err := dp.walk(cfg.IVR.OperatorContext, e.Extension)
			if err != nil {
				t.Fatal(err)
			}
			qs := callsTo(cs, "Queue")
			if len(qs) == 0 || e.Queue == "" {
				t.Fatalf("ivr.menu[%d] queue %q, extension %s reaches %v", i, e.Queue, e.Extension, qs)
			}
			if qs[0].Args[0] != e.Queue {
				t.Errorf("ivr.menu[%d].queue is %q but [%s] %s joins Queue(%s) first", i, e.Queue, cfg.IVR.OperatorContext, e.Extension, qs[0].Args[0])
			}
			// ivr.menu[].members are the devices whose states the IVR
			// follows for this queue: exactly queues.conf's members.
			secs := queues.named(e.Queue)
			if len(secs) != 1 {
				t.Fatalf("queues.conf has %d [%s]", len(secs), e.Queue)
			}
			var members []string
			for _, m := range queues.effective(secs[0]).all("member") {
				members = append(members, strings.TrimSpace(strings.Split(m, ",")[0]))
			}
			if !slices.Equal(members, e.Members) {
				t.Errorf("ivr.menu[%d].members is %v but queues.conf [%s] has members %v", i, e.Members, e.Queue, members)
			}
		})
	}

	// Unknown numeric destinations fall back to the failover extension too.
	cs, err := dp.walk(cfg.IVR.OperatorContext, "999")
	if err != nil {
		t.Fatalf("numeric fallback: %v", err)
	}
	if len(callsTo(cs, "Queue")) == 0 {
		t.Errorf("a numeric destination in [%s] does not reach a Queue", cfg.IVR.OperatorContext)
	}
}

func TestLoadtestScripts(t *testing.T) {
	cfg := configs.Default()
	dp := mustDialplan(t)
	if dp[loadtestContext] == nil {
		t.Fatalf("extensions.conf: no [%s]", loadtestContext)
	}
	// includes of the loadtest context are allowed, but nothing may include
	// it: it must not be reachable from a phone or the trunk.
	for name, ctx := range dp {
		if slices.Contains(ctx.Includes, loadtestContext) {
			t.Errorf("[%s] includes [%s]; load test scripts must not be dialable", name, loadtestContext)
		}
	}

	type script struct {
		name   string
		digits []string // DTMF the script sends, in order; nil for none
		talks  bool
	}
	scripts := []script{
		{name: "silent"},
		{name: "abandon"},
		{name: "talk", talks: true},
		{name: "silent-help", digits: []string{cfg.IVR.SilentHelpDigits}},
		{name: "press-" + cfg.IVR.BlockedOverrideDigit, digits: []string{cfg.IVR.BlockedOverrideDigit}},
		{name: "greeting-key", digits: []string{menuDigit(t, cfg, "fire")}},
		{name: "greeting-talk", talks: true},
		{name: "menu-55", digits: []string{cfg.IVR.SilentHelpDigits}},
		{name: "menu-listener", digits: []string{menuDigit(t, cfg, "medical")}},
		{name: "blocked-talk", talks: true},
		{name: "blocked-silent-help", digits: []string{cfg.IVR.SilentHelpDigits}},
		{name: "incident", digits: []string{cfg.IVR.IncidentDigit}},
	}
	for _, e := range cfg.IVR.Menu {
		scripts = append(scripts, script{name: e.Type, digits: []string{e.Digit}})
	}
	// Every kind of caller the load tool places on a real Asterisk has a
	// script here, checked below.
	for _, k := range loadtest.Kinds {
		for _, c := range []loadtest.Caller{{Kind: k}, {Kind: k, Presses9: true}} {
			name := c.ARIScript()
			if name == "" && k == loadtest.KindDropper {
				// Dropped callers wait for a call-back the load tool
				// cannot answer on a real Asterisk: Run refuses them
				// there, so they have no script.
				continue
			}
			if !slices.ContainsFunc(scripts, func(sc script) bool { return sc.name == name }) && name != "invalid" {
				t.Errorf("loadtest kind %s uses script %q, which is not checked here", k, name)
			}
		}
	}
	for _, sc := range scripts {
		t.Run(sc.name, func(t *testing.T) {
			cs, err := dp.walk(loadtestContext, sc.name)
			if err != nil {
				t.Fatal(err)
			}
			checkScript(t, cs)
			var sent []string
			for _, c := range callsTo(cs, "SendDTMF") {
				sent = append(sent, c.Args[0])
			}
			if !slices.Equal(sent, sc.digits) {
				t.Errorf("sends DTMF %q, want %q", sent, sc.digits)
			}
			plays := callsTo(cs, "Playback")
			if sc.talks != (len(plays) > 0) {
				t.Errorf("talks = %v, want %v", len(plays) > 0, sc.talks)
			}
			for _, p := range plays {
				for _, lang := range promptLanguages {
					if _, err := os.Stat(filepath.Join("sounds", lang, p.Args[0]+".wav")); err != nil {
						t.Errorf("Playback(%s) has no sound in %s: %v", p.Args[0], lang, err)
					}
				}
			}
		})
	}

	t.Run("invalid", func(t *testing.T) {
		cs, err := dp.walk(loadtestContext, "invalid")
		if err != nil {
			t.Fatal(err)
		}
		checkScript(t, cs)
		sent := callsTo(cs, "SendDTMF")
		if len(sent) < cfg.IVR.MenuAttempts {
			t.Errorf("presses %d keys, want one per menu attempt (%d)", len(sent), cfg.IVR.MenuAttempts)
		}
		for _, c := range sent {
			for _, e := range cfg.IVR.Menu {
				if strings.Contains(c.Args[0], e.Digit) {
					t.Errorf("line %d: presses %q, which is menu key for %s", c.Line, c.Args[0], e.Type)
				}
			}
		}
	})
}

// menuDigit is the key of the menu entry of type typ.
func menuDigit(t *testing.T, cfg configs.Config, typ string) string {
	t.Helper()
	for _, e := range cfg.IVR.Menu {
		if e.Type == typ {
			return e.Digit
		}
	}
	t.Fatalf("no menu entry of type %s", typ)
	return ""
}

// checkScript checks what every load test caller must do: answer before
// anything else (or the IVR side stays Down), use only durations that were
// given a value, and end the call itself.
func checkScript(t *testing.T, cs []call) {
	t.Helper()
	first := ""
	for _, c := range cs {
		switch strings.ToLower(c.App) {
		case "set", "goto", "gosub", "execif", "return", "noop":
			continue
		}
		if first == "" {
			first = c.App
		}
		if strings.EqualFold(c.App, "Wait") {
			if _, err := strconv.ParseFloat(c.Args[0], 64); err != nil && !isDefaultedVar(cs, c.Args[0]) {
				t.Errorf("line %d: Wait(%s) has no default", c.Line, c.Args[0])
			}
		}
	}
	if first != "Answer" {
		t.Errorf("first application is %q, want Answer", first)
	}
	if last := cs[len(cs)-1]; !strings.EqualFold(last.App, "Hangup") {
		t.Errorf("does not end with Hangup (last: %s line %d)", last.App, last.Line)
	}
}

var execIfDefault = regexp.MustCompile(`^\$\["\$\{(\w+)\}" = ""\]\?Set\((\w+)=([0-9.]+)\)$`)

// isDefaultedVar reports whether ${NAME} got a numeric default from an
// ExecIf($["${NAME}" = ""]?Set(NAME=n)) earlier in the walk.
func isDefaultedVar(cs []call, arg string) bool {
	name, ok := strings.CutPrefix(arg, "${")
	if !ok {
		return false
	}
	name = strings.TrimSuffix(name, "}")
	for _, c := range callsTo(cs, "ExecIf") {
		m := execIfDefault.FindStringSubmatch(strings.Join(c.Args, ","))
		if m != nil && m[1] == name && m[2] == name {
			return true
		}
	}
	return false
}

func TestPJSIPSample(t *testing.T) {
	f := mustConf(t, "pjsip.conf", ";")
	dp := mustDialplan(t)
	types := map[string][]string{} // section name -> types it is defined as
	for _, s := range f.Sections {
		if s.Template {
			continue
		}
		typ, _ := f.effective(s).get("type")
		types[s.Name] = append(types[s.Name], typ)
	}
	endpoints := 0
	for _, s := range f.Sections {
		e := f.effective(s)
		if typ, _ := e.get("type"); s.Template || typ != "endpoint" {
			continue
		}
		endpoints++
		t.Run(s.Name, func(t *testing.T) {
			ctx, _ := e.get("context")
			if dp[ctx] == nil {
				t.Errorf("endpoint context %q is not in extensions.conf", ctx)
			}
			if _, _, ok := dp.find(ctx, "112"); !ok {
				t.Errorf("112 cannot be dialled from context %q", ctx)
			}
			if v, _ := e.get("dtmf_mode"); v != "rfc4733" {
				t.Errorf("dtmf_mode %q: the IVR needs RFC 4733 key events", v)
			}
			for _, ref := range []struct{ key, typ string }{{"aors", "aor"}, {"auth", "auth"}} {
				v, ok := e.get(ref.key)
				if !ok {
					continue
				}
				for _, name := range strings.Split(v, ",") {
					if !slices.Contains(types[strings.TrimSpace(name)], ref.typ) {
						t.Errorf("%s = %s, but there is no %s section of that name", ref.key, name, ref.typ)
					}
				}
			}
		})
	}
	if endpoints == 0 {
		t.Fatal("pjsip.conf defines no endpoint")
	}

	// Queue members must be endpoints of this sample.
	queues := mustConf(t, "queues.conf", ";")
	for _, s := range queues.Sections {
		if s.Template || s.Name == "general" {
			continue
		}
		for _, m := range s.all("member") {
			iface := strings.TrimSpace(strings.Split(m, ",")[0])
			ep, ok := strings.CutPrefix(iface, "PJSIP/")
			if !ok || !slices.Contains(types[ep], "endpoint") {
				t.Errorf("queues.conf [%s]: member %s is not a PJSIP endpoint of pjsip.conf", s.Name, iface)
			}
		}
	}
}

// promptKeys returns every prompt name configs.Default() uses: each string
// field of IVR.Prompts (by reflection, so a new prompt is covered without
// editing this test) and each menu entry's prompt.
func promptKeys(cfg configs.Config) []string {
	var keys []string
	v := reflect.ValueOf(cfg.IVR.Prompts)
	for i := range v.NumField() {
		if s, ok := v.Field(i).Interface().(string); ok && s != "" {
			keys = append(keys, s)
		}
	}
	for _, e := range cfg.IVR.Menu {
		keys = append(keys, e.Prompt)
	}
	return keys
}

// soundFolder is the folder under sounds/<lang>/ that SoundPrefix names.
func soundFolder(t *testing.T, prefix string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(prefix, "sound:")
	if !ok {
		t.Fatalf("ivr.sound_prefix %q does not start with sound:", prefix)
	}
	return strings.Trim(rest, "/")
}

// readPromptTexts reads prompts.<lang>.txt the way make-prompts.sh does.
func readPromptTexts(t *testing.T, lang string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("sounds", "prompts."+lang+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, text, ok := strings.Cut(line, "|")
		if !ok || strings.TrimSpace(text) == "" {
			t.Errorf("prompts.%s.txt:%d: want key|text", lang, i+1)
			continue
		}
		if _, dup := out[key]; dup {
			t.Errorf("prompts.%s.txt:%d: duplicate key %s", lang, i+1, key)
		}
		out[key] = text
	}
	return out
}

func TestPromptsExistForEveryKey(t *testing.T) {
	cfg := configs.Default()
	folder := soundFolder(t, cfg.IVR.SoundPrefix)
	if !slices.Contains(promptLanguages, cfg.IVR.Language) {
		t.Errorf("ivr.language %q has no prompts (shipped: %v)", cfg.IVR.Language, promptLanguages)
	}
	keys := promptKeys(cfg)
	for _, lang := range promptLanguages {
		t.Run(lang, func(t *testing.T) {
			texts := readPromptTexts(t, lang)
			dir := filepath.Join("sounds", lang, folder)
			files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
			if err != nil {
				t.Fatal(err)
			}
			onDisk := map[string]bool{}
			for _, f := range files {
				onDisk[strings.TrimSuffix(filepath.Base(f), ".wav")] = true
			}
			for _, k := range keys {
				if _, ok := texts[k]; !ok {
					t.Errorf("prompt %q has no text in prompts.%s.txt", k, lang)
				}
				if !onDisk[k] {
					t.Errorf("prompt %q has no %s/%s.wav", k, dir, k)
				}
			}
			// The WAVs are exactly what the text file makes: a key in the
			// text without a WAV means make-prompts.sh was not rerun.
			for k := range texts {
				if !onDisk[k] {
					t.Errorf("prompts.%s.txt has %q but %s/%s.wav is missing; run make-prompts.sh", lang, k, dir, k)
				}
			}
			for k := range onDisk {
				if _, ok := texts[k]; !ok {
					t.Errorf("%s/%s.wav has no line in prompts.%s.txt", dir, k, lang)
				}
			}
			for _, f := range files {
				t.Run(filepath.Base(f), func(t *testing.T) { checkWAV(t, f) })
			}
		})
	}

	st, err := os.Stat(filepath.Join("sounds", "make-prompts.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("sounds/make-prompts.sh is not executable (mode %v)", st.Mode())
	}
}

// checkWAV checks what Asterisk's format_wav plays without transcoding
// trouble: PCM, 8 kHz, mono, 16 bits, a consistent header and real audio.
func checkWAV(t *testing.T, path string) {
	t.Helper()
	w, err := readWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Format != 1 || w.SampleRate != 8000 || w.Channels != 1 || w.Bits != 16 {
		t.Errorf("format %d, %d Hz, %d channel(s), %d bits; want PCM (1), 8000 Hz, mono, 16 bits",
			w.Format, w.SampleRate, w.Channels, w.Bits)
	}
	if int64(w.RIFFBytes)+8 != w.FileBytes {
		t.Errorf("RIFF size %d + 8 != file size %d", w.RIFFBytes, w.FileBytes)
	}
	if w.DataBytes%2 != 0 {
		t.Errorf("data chunk of %d bytes is not whole 16-bit samples", w.DataBytes)
	}
	if s := w.Seconds(); s < 0.5 || s > 30 {
		t.Errorf("%.2f s of audio; a prompt should be between 0.5 s and 30 s", s)
	}
}

// compose is the part of docker-compose.yml the test reads.
type compose struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image           string         `yaml:"image"`
	Build           composeBuild   `yaml:"build"`
	Entrypoint      []string       `yaml:"entrypoint"`
	Command         []string       `yaml:"command"`
	Environment     composeEnv     `yaml:"environment"`
	Volumes         []string       `yaml:"volumes"`
	NetworkMode     string         `yaml:"network_mode"`
	DependsOn       map[string]any `yaml:"depends_on"`
	StopGracePeriod string         `yaml:"stop_grace_period"`
	Healthcheck     *struct {
		Test    []string `yaml:"test"`
		Disable bool     `yaml:"disable"`
	} `yaml:"healthcheck"`
}

// composeBuild accepts both `build: dir` and `build: {context, dockerfile}`.
type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain composeBuild
	return n.Decode((*plain)(b))
}

// composeEnv accepts both the mapping and the "KEY=value" list form.
type composeEnv map[string]string

func (e *composeEnv) UnmarshalYAML(n *yaml.Node) error {
	*e = composeEnv{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		(*e)[k] = v
	}
	return nil
}

func readCompose(t *testing.T) compose {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// bindMounts returns the service's host-path volumes as source -> target.
func bindMounts(s composeService) map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && (strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/")) {
			out[parts[0]] = parts[1]
		}
	}
	return out
}

func TestComposeServices(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"nats", "asterisk", "siaga112"} {
		t.Run(name, func(t *testing.T) {
			s, ok := c.Services[name]
			if !ok {
				t.Fatalf("docker-compose.yml has no %s service", name)
			}
			hc := s.Healthcheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
				t.Errorf("%s: no usable healthcheck (%+v)", name, hc)
			}
			for src := range bindMounts(s) {
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("%s mounts %s, which does not exist: %v", name, src, err)
				}
			}
			for _, v := range s.Volumes {
				src := strings.Split(v, ":")[0]
				if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
					continue
				}
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s uses volume %q, which is not declared under volumes:", name, src)
				}
			}
			if s.Build.Context != "" {
				df := s.Build.Dockerfile
				if df == "" {
					df = "Dockerfile"
				}
				if _, err := os.Stat(filepath.Join(repoRoot, s.Build.Context, df)); err != nil {
					t.Errorf("%s builds %s/%s: %v", name, s.Build.Context, df, err)
				}
			}
		})
	}

	t.Run("nats jetstream", func(t *testing.T) {
		s := c.Services["nats"]
		args := append(append([]string{}, s.Entrypoint...), s.Command...)
		if !slices.Contains(args, "-js") && !slices.Contains(args, "--jetstream") {
			t.Errorf("nats runs without JetStream: %v", args)
		}
		i := slices.Index(args, "-sd")
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("nats has no -sd store directory: %v", args)
		}
		store, mounted := args[i+1], false
		for _, v := range s.Volumes {
			if parts := strings.Split(v, ":"); len(parts) >= 2 && parts[1] == store {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("the JetStream store %s is not on a volume", store)
		}
	})

	t.Run("asterisk gets this folder", func(t *testing.T) {
		s := c.Services["asterisk"]
		if filepath.Clean(s.Build.Context) != "asterisk-conf" {
			t.Errorf("asterisk is built from %q, want ./asterisk-conf", s.Build.Context)
		}
		mounts := bindMounts(s)
		for _, f := range []string{"http.conf", "ari.conf", "extensions.conf", "queues.conf", "pjsip.conf", "modules.conf"} {
			if got := mounts["./asterisk-conf/"+f]; got != "/etc/asterisk/"+f {
				t.Errorf("./asterisk-conf/%s is mounted at %q, want /etc/asterisk/%s", f, got, f)
			}
		}
		folder := soundFolder(t, configs.Default().IVR.SoundPrefix)
		for _, lang := range promptLanguages {
			src := "./asterisk-conf/sounds/" + lang + "/" + folder
			if got, want := mounts[src], "/usr/share/asterisk/sounds/"+lang+"/"+folder; got != want {
				t.Errorf("%s is mounted at %q, want %q", src, got, want)
			}
		}
		// The image itself carries the same files (it must also work alone).
		df, err := os.ReadFile("Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"http.conf", "ari.conf", "extensions.conf", "queues.conf", "pjsip.conf", "modules.conf", "sounds/id/", "sounds/en/"} {
			if !strings.Contains(string(df), f) {
				t.Errorf("asterisk-conf/Dockerfile does not copy %s", f)
			}
		}
	})
}

// TestComposeSiaga112Config loads the configuration the siaga112 container
// would load, with the real loader: the mounted deploy/siaga112.yaml and the
// service's environment. An environment name that is no config key, or a
// value of the wrong type, fails here as it would fail the container.
func TestComposeSiaga112Config(t *testing.T) {
	c := readCompose(t)
	s := c.Services["siaga112"]
	if filepath.Clean(s.Build.Context) != "." {
		t.Errorf("siaga112 is built from %q, want the repository root", s.Build.Context)
	}
	mounts := bindMounts(s)
	var cfgFile string
	for src, dst := range mounts {
		if dst == configInImage {
			cfgFile = filepath.Join(repoRoot, src)
		}
	}
	if cfgFile == "" {
		t.Fatalf("siaga112 does not mount a config file at %s", configInImage)
	}
	if i := slices.Index(s.Command, "--config"); i < 0 || i+1 >= len(s.Command) || s.Command[i+1] != configInImage {
		t.Errorf("siaga112 command %v does not pass --config %s", s.Command, configInImage)
	}
	if !slices.Contains(configs.DefaultSearch(), configInImage) {
		t.Errorf("%s is not in configs.DefaultSearch() %v", configInImage, configs.DefaultSearch())
	}
	for _, dep := range []string{"nats", "asterisk"} {
		if _, ok := s.DependsOn[dep]; !ok {
			t.Errorf("siaga112 does not depend on %s", dep)
		}
	}

	for k, v := range s.Environment {
		if !strings.HasPrefix(k, configs.EnvPrefix+"_") {
			t.Errorf("environment %s: not a %s_* variable", k, configs.EnvPrefix)
		}
		t.Setenv(k, v)
	}
	cfg, err := configs.Load(configs.LoadOptions{File: cfgFile})
	if err != nil {
		t.Fatalf("the siaga112 container's configuration does not load: %v", err)
	}

	if cfg.NATS.URL == "" {
		t.Errorf("nats.url is empty: the container would start its own NATS instead of the nats service")
	}
	for _, u := range strings.Split(cfg.NATS.URL, ",") {
		h, p, _ := hostPort(t, u)
		if p != "4222" || (s.NetworkMode == "host" && h != "127.0.0.1" && h != "localhost") {
			t.Errorf("nats.url %s does not reach the nats service's published port", u)
		}
	}
	checkAgainstAsterisk(t, cfg)

	// The healthcheck asks the address siaga112 listens on, and liveness
	// (/livez), not /healthz: /healthz is 503 while no Asterisk node is
	// connected, which a restart does not mend.
	hc := s.Healthcheck
	if hc != nil && len(hc.Test) > 0 {
		last := hc.Test[len(hc.Test)-1]
		h, p, path := hostPort(t, last)
		if net.JoinHostPort(h, p) != cfg.HTTP.Listen || path != "/livez" {
			t.Errorf("siaga112 healthcheck asks %s, but http.listen is %s (path /livez)", last, cfg.HTTP.Listen)
		}
	}
	if s.NetworkMode != "host" {
		t.Errorf("siaga112 network_mode %q: with ARI on loopback (http.conf) it must share the host network", s.NetworkMode)
	}
	if c.Services["asterisk"].NetworkMode != "host" {
		t.Errorf("asterisk must use the host network so ARI on 127.0.0.1 and SIP/RTP work as configured")
	}
	grace, err := time.ParseDuration(s.StopGracePeriod)
	if err != nil || grace <= cfg.IVR.DrainTimeout {
		t.Errorf("siaga112 stop_grace_period %q must exceed ivr.drain_timeout %v", s.StopGracePeriod, cfg.IVR.DrainTimeout)
	}
}

// checkAgainstAsterisk checks an effective siaga112 configuration against
// this folder's Asterisk files.
func checkAgainstAsterisk(t *testing.T, cfg configs.Config) {
	t.Helper()
	ari := mustConf(t, "ari.conf", ";")
	g := one(t, ari, "general")
	origins, _ := g.get("allowed_origins")
	if !slices.Contains(strings.Split(origins, ","), cfg.ARI.Origin) {
		t.Errorf("ari.origin %q is not in ari.conf allowed_origins %q", cfg.ARI.Origin, origins)
	}
	httpConf := one(t, mustConf(t, "http.conf", ";"), "general")
	bind, _ := httpConf.get("bindaddr")
	port, _ := httpConf.get("bindport")
	for _, n := range cfg.ARI.Nodes {
		u := one(t, ari, n.Username)
		if pw, _ := u.get("password"); pw != n.Password {
			t.Errorf("node %s: password differs from ari.conf [%s]", n.Name, n.Username)
		}
		if h, p, _ := hostPort(t, n.URL); h != bind || p != port {
			t.Errorf("node %s: url %s is not http.conf's %s:%s", n.Name, n.URL, bind, port)
		}
	}
	dp := mustDialplan(t)
	cs, err := dp.walk(emergencyContext, "112")
	if err != nil {
		t.Fatal(err)
	}
	if st := callsTo(cs, "Stasis"); len(st) != 1 || st[0].Args[0] != cfg.ARI.Application {
		t.Errorf("ari.application %q, but 112 runs %v", cfg.ARI.Application, st)
	}
	if dp[cfg.IVR.OperatorContext] == nil {
		t.Errorf("ivr.operator_context %q is not in extensions.conf", cfg.IVR.OperatorContext)
	}
}

func TestDeployExampleConfig(t *testing.T) {
	cfg, err := configs.Load(configs.LoadOptions{File: filepath.Join(repoRoot, "deploy", "siaga112.yaml")})
	if err != nil {
		t.Fatalf("deploy/siaga112.yaml does not load: %v", err)
	}
	checkAgainstAsterisk(t, cfg)
	for _, dir := range []string{cfg.NATS.Spool.Dir, cfg.NATS.Embedded.DataDir} {
		if !strings.HasPrefix(dir, stateDir+"/") {
			t.Errorf("%s is outside the state directory %s that the unit and the image make writable", dir, stateDir)
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	cfg := configs.Default()
	f := mustConf(t, filepath.Join(repoRoot, "deploy", "siaga112.service"), "#;")
	svc := one(t, f, "Service")
	start, _ := svc.get("ExecStart")
	args := strings.Fields(start)
	if len(args) < 2 || !strings.HasSuffix(args[0], "/siaga112") || args[1] != "serve" {
		t.Errorf("ExecStart %q: want /…/siaga112 serve", start)
	}
	if i := slices.Index(args, "--config"); i < 0 || i+1 >= len(args) || args[i+1] != configInImage {
		t.Errorf("ExecStart %q does not pass --config %s", start, configInImage)
	}
	if sd, _ := svc.get("StateDirectory"); "/var/lib/"+sd != stateDir {
		t.Errorf("StateDirectory %q, want %s", sd, strings.TrimPrefix(stateDir, "/var/lib/"))
	}
	for _, dir := range []string{configs.DefaultSpoolDir, configs.DefaultDataDir} {
		if !strings.HasPrefix(dir, stateDir+"/") {
			t.Errorf("default %s is outside StateDirectory %s", dir, stateDir)
		}
	}
	dyn, _ := svc.get("DynamicUser")
	user, _ := svc.get("User")
	if dyn != "yes" && (user == "" || user == "root") {
		t.Errorf("the service must not run as root (DynamicUser=%q User=%q)", dyn, user)
	}
	for k, v := range map[string]string{"NoNewPrivileges": "yes", "ProtectSystem": "strict", "Restart": "always"} {
		want(t, svc, f.Path, k, v)
	}
	stop, _ := svc.get("TimeoutStopSec")
	// systemd reads a bare number as seconds.
	d, err := time.ParseDuration(stop)
	if n, nerr := strconv.Atoi(stop); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d <= cfg.IVR.DrainTimeout {
		t.Errorf("TimeoutStopSec %q must exceed ivr.drain_timeout %v", stop, cfg.IVR.DrainTimeout)
	}
	one(t, f, "Install")
}

func TestRootDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	for _, s := range []string{"CGO_ENABLED=0", "./cmd/siaga112", "./deploy/healthcheck", "HEALTHCHECK"} {
		if !strings.Contains(df, s) {
			t.Errorf("Dockerfile does not mention %s", s)
		}
	}
	// Every package the image builds exists.
	for _, pkg := range []string{"cmd/siaga112", "deploy/healthcheck"} {
		if st, err := os.Stat(filepath.Join(repoRoot, pkg)); err != nil || !st.IsDir() {
			t.Errorf("Dockerfile builds ./%s, which is not a directory: %v", pkg, err)
		}
	}
	// The last stage must drop root.
	stages := strings.Split(df, "\nFROM ")
	final := stages[len(stages)-1]
	m := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(final, -1)
	if len(m) == 0 {
		t.Fatal("the final stage has no USER")
	}
	if u := m[len(m)-1][1]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("the final stage runs as %s", u)
	}
	// Its healthcheck asks liveness on the default listen address.
	if !strings.Contains(final, "http://"+configs.DefaultHTTPListen+"/livez") {
		t.Errorf("HEALTHCHECK does not ask http://%s/livez", configs.DefaultHTTPListen)
	}
}
