package asteriskconf

// Tests of the readers themselves, so that the consistency test cannot pass
// because a parser silently reads less than the file says.

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadConf(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		comment string
		check   func(t *testing.T, f *confFile)
		wantErr bool
	}{
		{
			name: "sections, templates, arrows and comments",
			in: "[general] ; c\nenabled = yes ; trailing\nescaped = a\\;b\n" +
				"[tmpl](!)\nk = from-template\n[real](tmpl)\nexten => 1,1,NoOp()\n[real](+)\nx=y\n",
			comment: ";",
			check: func(t *testing.T, f *confFile) {
				if len(f.Sections) != 4 {
					t.Fatalf("%d sections, want 4", len(f.Sections))
				}
				g := f.Sections[0]
				if v, _ := g.get("enabled"); v != "yes" {
					t.Errorf("enabled = %q", v)
				}
				if v, _ := g.get("escaped"); v != `a\;b` {
					t.Errorf("escaped = %q", v)
				}
				if !f.Sections[1].Template || f.Sections[2].Inherits[0] != "tmpl" || !f.Sections[3].Append {
					t.Errorf("header options not read: %+v %+v %+v", f.Sections[1], f.Sections[2], f.Sections[3])
				}
				if v, _ := f.Sections[2].get("exten"); v != "1,1,NoOp()" {
					t.Errorf("exten => value = %q", v)
				}
				if v, _ := f.effective(f.named("real")[0]).get("k"); v != "from-template" {
					t.Errorf("template value not inherited: %q", v)
				}
			},
		},
		{
			name:    "block comment",
			in:      "[a]\nx = 1\n;-- hidden\ny = 2\n--;\nz = 3\n",
			comment: ";",
			check: func(t *testing.T, f *confFile) {
				if _, ok := f.Sections[0].get("y"); ok {
					t.Error("a key inside ;-- --; was read")
				}
				if v, _ := f.Sections[0].get("z"); v != "3" {
					t.Errorf("z = %q after the block comment", v)
				}
			},
		},
		{
			name:    "systemd comments",
			in:      "# unit\n[Service]\nExecStart=/bin/x serve\n; also a comment\n",
			comment: "#;",
			check: func(t *testing.T, f *confFile) {
				if v, _ := f.Sections[0].get("ExecStart"); v != "/bin/x serve" {
					t.Errorf("ExecStart = %q", v)
				}
			},
		},
		{name: "key before section", in: "x = 1\n", comment: ";", wantErr: true},
		{name: "line without =", in: "[a]\njunk\n", comment: ";", wantErr: true},
		{name: "unclosed header", in: "[a\n", comment: ";", wantErr: true},
		{name: "include directive", in: "#include other.conf\n", comment: ";", wantErr: true},
		{name: "unclosed block comment", in: "[a]\n;-- open\n", comment: ";", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readConf("test.conf", strings.NewReader(tt.in), tt.comment)
			if tt.wantErr {
				if !errors.Is(err, errSyntax) {
					t.Fatalf("err = %v, want errSyntax", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, f)
		})
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"X.", "999", true},
		{"X.", "9", false}, // "." needs at least one more character
		{"X.", "fire", false},
		{"2XX", "201", true},
		{"2XX", "2011", false},
		{"NXX", "112", false},
		{"ZX", "10", true},
		{"[0-9+*#].", "+62812", true},
		{"[0-9+*#].", "s", false},
		{"press-.", "press-55", true},
		{"press-.", "press-", false},
		{"11!", "11", true},
		{"11[02389]", "113", true},
		{"11[02389]", "111", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.s, func(t *testing.T) {
			if got := matchPattern(tt.pattern, tt.s); got != tt.want {
				t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

func TestSplitArgsAndExpand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"siaga112-fire,t,,,60", []string{"siaga112-fire", "t", "", "", "60"}},
		{`$["${A}" = ""]?Set(A=1,2)`, []string{`$["${A}" = ""]?Set(A=1,2)`}},
		{`"a,b",c`, []string{`"a,b"`, "c"}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := splitArgs(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("splitArgs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	vars := map[string]string{"KEYS": "55"}
	for in, want := range map[string]string{
		"${KEYS}":        "55",
		"x${KEYS}y":      "x55y",
		"${EXTEN:6}":     "9",
		"${EXTEN}":       "press-9",
		"${UNKNOWN}":     "${UNKNOWN}",
		"${KEYS:9}":      "${KEYS:9}",
		"${CALLERID(n)}": "${CALLERID(n)}",
	} {
		if got := expand(in, vars, "press-9"); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWalk(t *testing.T) {
	const conf = `
[entry]
include => inner
exten => _9X.,1,Goto(other,1)
[inner]
exten => 112,1,Set(V=7)
 same => n,Gosub(sub,1)
 same => n,SendDTMF(${V})
 same => n(again),Queue(q)
 same => n,Goto(again)
exten => sub,1,Set(V=8)
 same => n,Return()
exten => other,1,Hangup()
`
	f, err := readConf("t.conf", strings.NewReader(conf), ";")
	if err != nil {
		t.Fatal(err)
	}
	dp, err := parseDialplan(f)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := dp.walk("entry", "112")
	if err != nil {
		t.Fatal(err)
	}
	var apps []string
	for _, c := range cs {
		apps = append(apps, c.App)
	}
	wantApps := []string{"Set", "Gosub", "Set", "Return", "SendDTMF", "Queue", "Goto"}
	if !slices.Equal(apps, wantApps) {
		t.Errorf("walk = %v, want %v (the loop back to Queue must end the walk)", apps, wantApps)
	}
	if dtmf := callsTo(cs, "SendDTMF"); len(dtmf) != 1 || dtmf[0].Args[0] != "8" {
		t.Errorf("SendDTMF calls %v, want one with the value set inside the Gosub (8)", dtmf)
	}
	if _, where, ok := dp.find("entry", "112"); !ok || where != "inner" {
		t.Errorf("find 112 from entry = %q, %v; want inner (includes are searched)", where, ok)
	}
	// A local pattern is searched before the includes, as in Asterisk.
	if _, where, _ := dp.find("entry", "999"); where != "entry" {
		t.Errorf("find 999 = %q, want entry", where)
	}
	if cs, err := dp.walk("entry", "999"); err != nil || len(cs) != 2 || cs[1].App != "Hangup" {
		t.Errorf("walk 999 = %v, %v; want Goto then Hangup", cs, err)
	}
	if _, err := dp.walk("entry", "nothing"); err == nil {
		t.Error("walk to a missing extension succeeded")
	}

	for name, bad := range map[string]string{
		"same before exten":    "[c]\nsame => n,NoOp()\n",
		"starts at 2":          "[c]\nexten => x,2,NoOp()\n",
		"defined twice":        "[c]\nexten => x,1,NoOp()\nexten => x,1,NoOp()\n",
		"unbalanced":           "[c]\nexten => x,1,NoOp(\n",
		"unknown dialplan key": "[c]\nswitch => IAX2/x\n",
	} {
		t.Run(name, func(t *testing.T) {
			f, err := readConf("bad.conf", strings.NewReader(bad), ";")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parseDialplan(f); !errors.Is(err, errSyntax) {
				t.Errorf("parseDialplan: %v, want errSyntax", err)
			}
		})
	}
}

// wavBytes builds a WAV file; extra chunks go between fmt and data.
func wavBytes(rate uint32, channels, bits uint16, samples int, extra string) []byte {
	le := binary.LittleEndian
	fmtChunk := make([]byte, 16)
	le.PutUint16(fmtChunk[0:], 1)
	le.PutUint16(fmtChunk[2:], channels)
	le.PutUint32(fmtChunk[4:], rate)
	le.PutUint32(fmtChunk[8:], rate*uint32(channels)*uint32(bits)/8)
	le.PutUint16(fmtChunk[12:], channels*bits/8)
	le.PutUint16(fmtChunk[14:], bits)
	var body []byte
	body = append(body, "WAVE"...)
	body = append(body, "fmt "...)
	body = le.AppendUint32(body, 16)
	body = append(body, fmtChunk...)
	if extra != "" {
		body = append(body, "LIST"...)
		body = le.AppendUint32(body, uint32(len(extra)))
		body = append(body, extra...)
		if len(extra)%2 == 1 {
			body = append(body, 0)
		}
	}
	data := make([]byte, samples*int(channels)*int(bits)/8)
	body = append(body, "data"...)
	body = le.AppendUint32(body, uint32(len(data)))
	body = append(body, data...)
	out := append([]byte("RIFF"), le.AppendUint32(nil, uint32(len(body)))...)
	return append(out, body...)
}

func TestReadWAV(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		data    []byte
		want    wavInfo
		wantErr bool
	}{
		{name: "8k mono 16", data: wavBytes(8000, 1, 16, 8000, ""),
			want: wavInfo{Format: 1, Channels: 1, SampleRate: 8000, Bits: 16, DataBytes: 16000}},
		{name: "odd extra chunk is skipped", data: wavBytes(16000, 2, 16, 100, "abc"),
			want: wavInfo{Format: 1, Channels: 2, SampleRate: 16000, Bits: 16, DataBytes: 400}},
		{name: "not riff", data: []byte("OggS and more bytes"), wantErr: true},
		{name: "truncated", data: wavBytes(8000, 1, 16, 100, "")[:60], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".wav")
			if err := os.WriteFile(p, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readWAV(p)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("readWAV: %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.FileBytes = int64(len(tt.data))
			tt.want.RIFFBytes = uint32(len(tt.data) - 8)
			if got != tt.want {
				t.Errorf("readWAV = %+v, want %+v", got, tt.want)
			}
		})
	}
	if s := (wavInfo{SampleRate: 8000, Channels: 1, Bits: 16, DataBytes: 16000}).Seconds(); s != 1 {
		t.Errorf("Seconds = %v, want 1", s)
	}
}
