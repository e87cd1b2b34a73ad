package arisim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ariv6 "github.com/CyCoreSystems/ari/v6"

	"github.com/siaga112/siaga112/ari/arisim"
	"github.com/siaga112/siaga112/ari/arisim/internal/ariapi"
)

// The conformance test checks every REST body and every event the sim puts on the
// wire in a scripted scenario against Asterisk 22's own ARI models: required fields
// present, no field the model lacks, JSON types as declared, enum values allowed.
//
// The models come from testdata/ari22-api.json, a description of Asterisk 22's ARI
// that is generated from Asterisk's api-docs and committed, so the test needs
// nothing outside the repository. TestAPIDescriptionMatchesAsterisk checks the
// committed file against the api-docs where a developer has them.

//go:generate go run ./internal/ariapigen -out testdata/ari22-api.json

// apiDescriptionFile is the committed description, relative to this package.
const apiDescriptionFile = "testdata/ari22-api.json"

type swaggerOp struct {
	method        string
	re            *regexp.Regexp
	params        int
	responseClass string
}

type ariSpec struct {
	models  map[string]ariapi.Model
	parents map[string]string
	ops     []swaggerOp
}

// loadSpec reads the committed description of Asterisk 22's ARI.
func loadSpec(t *testing.T) *ariSpec {
	t.Helper()
	data, err := os.ReadFile(apiDescriptionFile)
	if err != nil {
		t.Fatalf("conformance: %v (it is committed; regenerate it with go generate ./ari/arisim)", err)
	}
	d, err := ariapi.Parse(data)
	if err != nil {
		t.Fatalf("conformance: %s: %v", apiDescriptionFile, err)
	}
	spec := &ariSpec{models: d.Models, parents: map[string]string{}}
	for name, m := range d.Models {
		for _, sub := range m.SubTypes {
			spec.parents[sub] = name
		}
	}
	for _, op := range d.Operations {
		segs := strings.Split(op.Path, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") {
				segs[i] = `[^/]+`
			} else {
				segs[i] = regexp.QuoteMeta(seg)
			}
		}
		re := regexp.MustCompile("^" + strings.Join(segs, "/") + "$")
		spec.ops = append(spec.ops, swaggerOp{method: op.Method, re: re, params: op.PathParams, responseClass: op.ResponseClass})
	}
	// Literal paths (/channels/create) win over templated ones (/channels/{channelId}).
	sort.SliceStable(spec.ops, func(i, j int) bool { return spec.ops[i].params < spec.ops[j].params })
	if _, ok := spec.models["Channel"]; !ok {
		t.Fatalf("conformance: %s does not hold the channels and events models", apiDescriptionFile)
	}
	if _, ok := spec.models["StasisStart"]; !ok {
		t.Fatalf("conformance: %s does not hold the channels and events models", apiDescriptionFile)
	}
	return spec
}

// TestAPIDescriptionMatchesAsterisk regenerates the description from Asterisk's
// api-docs and compares it with the committed file, so the file cannot drift from
// its source unnoticed. The api-docs are not part of the repository: developers
// keep them in ../shared/asterisk-ari-22 beside it, and a plain clone has no such
// folder, which is the one case this test skips.
func TestAPIDescriptionMatchesAsterisk(t *testing.T) {
	root, err := ariapi.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	specDir := filepath.Join(root, ariapi.DefaultSpecDir)
	if _, err := os.Stat(specDir); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("Asterisk's api-docs are not at %s (a plain clone has no ../shared); "+
			"TestConformance still checks the sim against the committed %s", specDir, apiDescriptionFile)
	} else if err != nil {
		t.Fatal(err)
	}
	d, err := ariapi.FromSwagger(specDir)
	if err != nil {
		t.Fatalf("api-docs in %s: %v", specDir, err)
	}
	want, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(apiDescriptionFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(gotLines) || i < len(wantLines); i++ {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Fatalf("%s differs from what %s gives (first at line %d):\n committed: %s\n generated: %s\n"+
				"run `go generate ./ari/arisim` and commit the result", apiDescriptionFile, specDir, i+1, g, w)
		}
	}
}

func (sp *ariSpec) responseClass(method, path string) (string, bool) {
	for _, op := range sp.ops {
		if op.method == method && op.re.MatchString(path) {
			return op.responseClass, true
		}
	}
	return "", false
}

// properties returns a model's properties including those of its ancestors.
func (sp *ariSpec) properties(model string) map[string]ariapi.Property {
	out := map[string]ariapi.Property{}
	for m := model; m != ""; m = sp.parents[m] {
		if md, ok := sp.models[m]; ok {
			for k, v := range md.Properties {
				out[k] = v
			}
		}
	}
	return out
}

// check validates v against a swagger type and returns the problems found.
func (sp *ariSpec) check(v any, typ, where string) []string {
	if inner, ok := strings.CutPrefix(typ, "List["); ok {
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want a JSON array for %s, got %T", where, typ, v)}
		}
		var errs []string
		for i, e := range arr {
			errs = append(errs, sp.check(e, strings.TrimSuffix(inner, "]"), fmt.Sprintf("%s[%d]", where, i))...)
		}
		return errs
	}
	switch typ {
	case "string":
		if _, ok := v.(string); !ok {
			return []string{fmt.Sprintf("%s: want string, got %T", where, v)}
		}
	case "long", "int":
		n, ok := v.(json.Number)
		if !ok {
			return []string{fmt.Sprintf("%s: want integer, got %T", where, v)}
		}
		if _, err := n.Int64(); err != nil {
			return []string{fmt.Sprintf("%s: want integer, got %s", where, n)}
		}
	case "double":
		if _, ok := v.(json.Number); !ok {
			return []string{fmt.Sprintf("%s: want number, got %T", where, v)}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: want boolean, got %T", where, v)}
		}
	case "Date":
		s, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: want Date string, got %T", where, v)}
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000-0700", s); err != nil {
			return []string{fmt.Sprintf("%s: %q is not in Asterisk's date format", where, s)}
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return []string{fmt.Sprintf("%s: want object, got %T", where, v)}
		}
	default:
		return sp.checkModel(v, typ, where)
	}
	return nil
}

func (sp *ariSpec) checkModel(v any, model, where string) []string {
	if _, ok := sp.models[model]; !ok {
		return []string{fmt.Sprintf("%s: unknown model %q", where, model)}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want %s object, got %T", where, model, v)}
	}
	props := sp.properties(model)
	var errs []string
	for name, p := range props {
		val, present := obj[name]
		if !present {
			if p.Required {
				errs = append(errs, fmt.Sprintf("%s: %s lacks required field %q", where, model, name))
			}
			continue
		}
		errs = append(errs, sp.check(val, p.Type, where+"."+name)...)
		if len(p.Allowed) > 0 {
			if s, ok := val.(string); ok && !contains(p.Allowed, s) {
				errs = append(errs, fmt.Sprintf("%s.%s: %q is not one of %v", where, name, s, p.Allowed))
			}
		}
	}
	for name := range obj {
		if _, known := props[name]; !known {
			errs = append(errs, fmt.Sprintf("%s: %s has no field %q", where, model, name))
		}
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// wireLog collects what the sim sent.
type wireLog struct {
	mu     sync.Mutex
	rest   []wireItem
	events [][]byte
}

type wireItem struct {
	kind, method, path string
	status             int
	body               []byte
}

func TestConformance(t *testing.T) {
	spec := loadSpec(t)
	wl := &wireLog{}
	sim := arisim.New(arisim.Options{Username: testUser, Password: testPass, Application: testApp, ClockScale: fast,
		ChannelVars: []string{"SIAGA112_CALL_ID", "CALLERID(num)"}})
	arisim.SetTap(sim, func(kind, method, path string, status int, body []byte) {
		wl.mu.Lock()
		defer wl.mu.Unlock()
		b := bytes.Clone(body)
		if kind == "event" {
			wl.events = append(wl.events, b)
			return
		}
		wl.rest = append(wl.rest, wireItem{kind, method, path, status, b})
	})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	runScenario(t, sim)

	wl.mu.Lock()
	defer wl.mu.Unlock()
	seenModels := map[string]int{}
	seenEvents := map[string]int{}
	seenStatus := map[int]int{}
	for _, it := range wl.rest {
		seenStatus[it.status]++
		where := fmt.Sprintf("%s %s -> %d", it.method, it.path, it.status)
		if it.status >= 300 {
			v, err := decodeJSON(it.body)
			obj, ok := v.(map[string]any)
			msg, isStr := obj["message"].(string)
			if err != nil || !ok || len(obj) != 1 || !isStr || msg == "" {
				t.Errorf("%s: error body %s is not Asterisk's {\"message\": ...}", where, it.body)
			}
			continue
		}
		class, ok := spec.responseClass(it.method, it.path)
		if !ok {
			t.Errorf("%s: no such operation in Asterisk's ARI", where)
			continue
		}
		switch class {
		case "void":
			if len(it.body) != 0 {
				t.Errorf("%s: void operation returned a body %s", where, it.body)
			}
			continue
		case "binary":
			continue
		}
		v, err := decodeJSON(it.body)
		if err != nil {
			t.Errorf("%s: body is not JSON: %v", where, err)
			continue
		}
		seenModels[class]++
		for _, e := range spec.check(v, class, class) {
			t.Errorf("%s: %s", where, e)
		}
	}
	for _, b := range wl.events {
		v, err := decodeJSON(b)
		if err != nil {
			t.Errorf("event is not JSON: %s", b)
			continue
		}
		obj, _ := v.(map[string]any)
		typ, _ := obj["type"].(string)
		if spec.parents[typ] != "Event" {
			t.Errorf("event type %q is not an Event subtype in Asterisk's ARI", typ)
			continue
		}
		seenEvents[typ]++
		for _, e := range spec.check(v, typ, typ) {
			t.Errorf("event: %s", e)
		}
		if id, _ := obj["asterisk_id"].(string); id == "" {
			t.Errorf("event %s has no asterisk_id", typ)
		}
	}
	// The scenario must have exercised what the IVR relies on.
	for _, want := range []string{"StasisStart", "ChannelStateChange", "ChannelDtmfReceived", "PlaybackStarted",
		"PlaybackContinuing", "PlaybackFinished", "RecordingStarted", "RecordingFinished", "ChannelVarset",
		"ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelHangupRequest", "StasisEnd",
		"ChannelEnteredBridge", "ChannelLeftBridge", "BridgeDestroyed", "Dial", "ApplicationMoveFailed",
		"ChannelDestroyed", "DeviceStateChanged"} {
		if seenEvents[want] == 0 {
			t.Errorf("scenario emitted no %s event", want)
		}
	}
	for _, want := range []string{"AsteriskInfo", "AsteriskPing", "List[Application]", "Application", "List[Channel]", "Channel",
		"Playback", "LiveRecording", "StoredRecording", "List[StoredRecording]", "Bridge", "List[Bridge]", "Variable",
		"DeviceState", "List[DeviceState]"} {
		if seenModels[want] == 0 {
			t.Errorf("scenario returned no %s body", want)
		}
	}
	for _, want := range []int{200, 201, 204, 400, 401, 404, 409, 412, 422} {
		if seenStatus[want] == 0 {
			t.Errorf("scenario produced no %d response", want)
		}
	}
	t.Logf("checked %d REST responses (%d models) and %d events (%d types)", len(wl.rest), len(seenModels), len(wl.events), len(seenEvents))
}

// runScenario drives the sim through the ARI client across the resources an IVR uses,
// including the error answers.
func runScenario(t *testing.T, sim *arisim.Server) {
	cl := connect(t, sim, testApp)
	rec := record(t, cl)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wantCode := func(what string, err error, status int) {
		t.Helper()
		if code(err) != status {
			t.Errorf("%s: status %d (%v), want %d", what, code(err), err, status)
		}
	}

	_, err := cl.Asterisk().Info(nil)
	must("info", err)
	must("set global", cl.Asterisk().Variables().Set(ariv6.NewKey(ariv6.VariableKey, "G1"), "v"))
	_, err = cl.Asterisk().Variables().Get(ariv6.NewKey(ariv6.VariableKey, "G1"))
	must("get global", err)
	rawGet(t, sim, "/asterisk/ping", testPass)
	rawGet(t, sim, "/asterisk/info", "wrong") // 401
	_, err = cl.Application().Data(ariv6.NewKey(ariv6.ApplicationKey, testApp))
	must("application", err)
	_, err = cl.Application().Data(ariv6.NewKey(ariv6.ApplicationKey, "nope"))
	wantCode("unknown application", err, 404)

	call, err := sim.Call(context.Background(), arisim.Caller{Number: "+6281234567890", Name: "Budi", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForPrompt("menu"), arisim.Press("1"), arisim.Talk(time.Second), arisim.Wait(3 * time.Second),
		arisim.WaitForPrompt("beep"), arisim.Talk(2 * time.Second), arisim.Press("#"), arisim.WaitForEnd(),
		arisim.Wait(time.Hour), // talking to the operator until the app hangs up
	}})
	must("call", err)
	rec.wait(t, "StasisStart", ofType("StasisStart"))
	h := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID()))
	_, err = cl.Channel().List(nil)
	must("list channels", err)
	_, err = h.Data()
	must("channel data", err)
	must("ring", h.Ring())
	must("answer", h.Answer())
	must("talk detect", h.SetVariable("TALK_DETECT(set)", "1000"))
	must("set var", h.SetVariable("SIAGA112_CALL_ID", "c-1"))
	_, err = h.GetVariable("SIAGA112_CALL_ID")
	must("get var", err)
	_, err = h.GetVariable("NOPE")
	wantCode("missing variable", err, 404)
	must("mute", h.Mute(ariv6.DirectionIn))
	must("unmute", h.Unmute(ariv6.DirectionIn))
	must("moh", h.MOH("default"))
	must("stop moh", h.StopMOH())
	must("silence", h.Silence())
	must("stop silence", h.StopSilence())
	must("hold", h.Hold())
	must("unhold", h.StopHold())
	must("send dtmf", h.SendDTMF("1", nil))

	pb, err := h.Play("pb-menu", "sound:siaga112/greeting", "sound:siaga112/menu")
	must("play", err)
	_, err = pb.Data()
	must("playback data", err)
	rec.wait(t, "DTMF", ofType("ChannelDtmfReceived"))
	must("stop playback", pb.Stop())
	_, err = pb.Data()
	wantCode("stopped playback", err, 404)
	rec.wait(t, "talking finished", ofType("ChannelTalkingFinished"))

	pb2, err := h.Play("pb-beep", "sound:beep")
	must("play beep", err)
	must("control", pb2.Control("pause"))
	must("control", pb2.Control("unpause"))
	lr, err := h.Record("loc-1", &ariv6.RecordingOptions{Format: "wav", MaxDuration: 20 * time.Second, MaxSilence: 2 * time.Second, Terminate: "#"})
	must("record", err)
	_, err = lr.Data()
	must("live data", err)
	_, err = h.Record("loc-2", &ariv6.RecordingOptions{Format: "nosuchcodec"})
	wantCode("unknown format", err, 422)
	_, err = h.Record("", &ariv6.RecordingOptions{Format: "wav"})
	wantCode("no name", err, 400)
	rec.wait(t, "recording finished", ofType("RecordingFinished"))
	_, err = cl.StoredRecording().List(nil)
	must("stored list", err)
	sk := ariv6.NewKey(ariv6.StoredRecordingKey, "loc-1")
	_, err = cl.StoredRecording().Data(sk)
	must("stored data", err)
	rawGet(t, sim, "/recordings/stored/loc-1/file", testPass)
	_, err = cl.StoredRecording().Copy(sk, "loc-copy")
	must("copy", err)
	_, err = cl.StoredRecording().Copy(sk, "loc-copy")
	wantCode("copy onto existing", err, 409)
	must("delete stored", cl.StoredRecording().Delete(ariv6.NewKey(ariv6.StoredRecordingKey, "loc-copy")))
	_, err = h.Record("loc-1", &ariv6.RecordingOptions{Format: "wav"})
	wantCode("record over existing with ifExists=fail", err, 409)

	// A second recording that is paused, muted and scrapped.
	lr2, err := h.Record("scrap-1", &ariv6.RecordingOptions{Format: "wav", Exists: "overwrite"})
	must("record 2", err)
	eventually(t, "recording 2 running", func() bool { d, err := lr2.Data(); return err == nil && d.State == "recording" })
	must("pause", lr2.Pause())
	must("resume", lr2.Resume())
	must("mute rec", lr2.Mute())
	must("unmute rec", lr2.Unmute())
	must("scrap", lr2.Scrap())

	br, err := cl.Bridge().Create(ariv6.NewKey(ariv6.BridgeKey, "conf-1"), "mixing", "conf")
	must("bridge", err)
	_, err = cl.Bridge().Create(ariv6.NewKey(ariv6.BridgeKey, "conf-1"), "mixing", "conf")
	wantCode("duplicate bridge", err, 409)
	_, err = cl.Bridge().List(nil)
	must("bridges", err)
	must("add", br.AddChannel(call.ID()))
	_, err = br.Data()
	must("bridge data", err)
	bpb, err := br.Play("bpb-1", "sound:hold")
	must("bridge play", err)
	must("bridge play stop", bpb.Stop())
	must("remove", br.RemoveChannel(call.ID()))
	must("add again", br.AddChannel(call.ID()))
	must("destroy", br.Delete())
	_, err = br.Data()
	wantCode("destroyed bridge", err, 404)

	// Channel made with create (Down): 412 for answer, then dial; move to an app nobody has.
	ch2, err := cl.Channel().Create(nil, ariv6.ChannelCreateRequest{Endpoint: "PJSIP/operator1", App: testApp})
	must("create", err)
	wantCode("answer a Down channel", ch2.Answer(), 412)
	must("dial", ch2.Dial("", 30*time.Second))
	eventually(t, "dialled channel up", func() bool { d, err := ch2.Data(); return err == nil && d.State == "Up" })
	must("move", ch2.Move("elsewhere", ""))
	rec.wait(t, "move failed", ofType("ApplicationMoveFailed"))
	must("hangup 2", ch2.Hangup())

	orig, err := cl.Channel().Originate(nil, ariv6.OriginateRequest{Endpoint: "PJSIP/operator2", App: testApp, AppArgs: "cb"})
	must("originate", err)
	rec.wait(t, "originated", func(e ariv6.Event) bool {
		s, ok := e.(*ariv6.StasisStart)
		return ok && s.Channel.ID == orig.ID()
	})
	must("hangup orig", orig.Busy())
	_, err = cl.Channel().Originate(nil, ariv6.OriginateRequest{App: testApp})
	wantCode("originate without endpoint", err, 400)

	must("continue", h.Continue("siaga112-operators", "fire", 1))
	rec.wait(t, "StasisEnd", ofType("StasisEnd"))
	wantCode("answer out of Stasis", h.Answer(), 409)
	must("hangup", h.Hangup())
	waitDone(t, call)
	_, err = h.Data()
	wantCode("gone channel", err, 404)
	wantCode("hangup gone channel", h.Hangup(), 404)

	// A caller who hangs up during a prompt.
	c3, err := sim.Call(context.Background(), arisim.Caller{Number: "0812", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForAnswer(), arisim.Wait(200 * time.Millisecond), arisim.Hangup()}})
	must("call 3", err)
	h3 := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, c3.ID()))
	eventually(t, "call 3 in app", func() bool { _, err := h3.Data(); return err == nil })
	must("answer 3", h3.Answer())
	_, err = h3.Play("", "sound:long")
	must("play 3", err)
	waitDone(t, c3)

	runQueueScenario(t, sim, cl, rec)
}

// runQueueScenario hands a subscribed caller to a simulated queue: Dial
// ringing, ANSWER and CANCEL, ChannelVarset, DeviceStateChanged, the
// operator's hang-up and ChannelDestroyed; device states and the
// subscription endpoint, with their errors.
func runQueueScenario(t *testing.T, sim *arisim.Server, cl ariv6.Client, rec *recorder) {
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wantCode := func(what string, err error, status int) {
		t.Helper()
		if code(err) != status {
			t.Errorf("%s: status %d (%v), want %d", what, code(err), err, status)
		}
	}
	sim.SetQueue("siaga112-fire", arisim.Queue{Timeout: 60 * time.Second, Overflow: "siaga112-operator", Members: []arisim.Operator{
		{Device: "PJSIP/op201", AnswerAfter: time.Second, TalkFor: 2 * time.Second}, {Device: "PJSIP/op202", NoAnswer: true}}})
	sim.SetQueue("siaga112-operator", arisim.Queue{Members: []arisim.Operator{{Device: "PJSIP/op202"}}})
	app := cl.Application().Get(ariv6.NewKey(ariv6.ApplicationKey, testApp))
	must("subscribe device", app.Subscribe("deviceState:PJSIP/op201"))
	wantCode("subscribe to a channel that does not exist", app.Subscribe("channel:nope"), 422)
	wantCode("subscribe to a bad scheme", app.Subscribe("nope:1"), 400)
	wantCode("unsubscribe what is not subscribed", app.Unsubscribe("deviceState:PJSIP/op202"), 422)
	wantCode("subscribe an unknown application", cl.Application().Subscribe(ariv6.NewKey(ariv6.ApplicationKey, "nope"), "deviceState:x"), 404)
	dev := cl.DeviceState().Get(ariv6.NewKey(ariv6.DeviceStateKey, "PJSIP%2Fop201"))
	_, err := dev.Data()
	must("device state", err)
	stasisDev := cl.DeviceState().Get(ariv6.NewKey(ariv6.DeviceStateKey, "Stasis:desk"))
	must("put device state", stasisDev.Update("INUSE"))
	_, err = cl.DeviceState().List(nil)
	must("device states", err)
	must("delete device state", stasisDev.Delete())
	wantCode("put an uncontrolled device", dev.Update("BUSY"), 409)

	call, err := sim.Call(context.Background(), arisim.Caller{Number: "081300000098", Dialed: "112", Script: []arisim.Step{
		arisim.WaitForOperator(), arisim.Wait(time.Hour)}})
	must("queue call", err)
	rec.wait(t, "queue caller in Stasis", func(e ariv6.Event) bool {
		s, ok := e.(*ariv6.StasisStart)
		return ok && s.Channel.ID == call.ID()
	})
	h := cl.Channel().Get(ariv6.NewKey(ariv6.ChannelKey, call.ID()))
	must("answer queue caller", h.Answer())
	must("set call id", h.SetVariable("SIAGA112_CALL_ID", "c-42"))
	must("subscribe channel", app.Subscribe("channel:"+call.ID()))
	must("continue to the queue", h.Continue("siaga112-operators", "fire", 1))
	rec.wait(t, "Dial ANSWER", func(e ariv6.Event) bool { d, ok := e.(*ariv6.Dial); return ok && d.Dialstatus == "ANSWER" })
	_, err = cl.Channel().List(nil) // the caller in the queue and the operator's channel
	must("list channels in the queue", err)
	_, err = h.Data()
	must("caller in the queue", err)
	rec.wait(t, "ChannelDestroyed", ofType("ChannelDestroyed"))
	waitDone(t, call)
	wantCode("unsubscribe from a destroyed channel", app.Unsubscribe("channel:"+call.ID()), 422)
	must("unsubscribe device", app.Unsubscribe("deviceState:PJSIP/op201"))
}

// rawGet fetches an ARI path the client has no method for.
func rawGet(t *testing.T, sim *arisim.Server, path, pass string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sim.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testUser, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
