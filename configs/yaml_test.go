package configs_test

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siaga112/siaga112/configs"
	"go.yaml.in/yaml/v3"
)

// The documented file is what the defaults are: loading it gives exactly
// Default(), and it names every key.
func TestDefaultFileIsDefault(t *testing.T) {
	clearEnv(t)
	got, err := loadFile(t, "siaga112.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, configs.Default()) {
		gotY, _ := got.YAML()
		wantY, _ := configs.Default().YAML()
		t.Errorf("configs/siaga112.yaml differs from Default():\n--- file\n%s\n--- Default()\n%s", gotY, wantY)
	}
}

func TestDefaultFileNamesAndDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("siaga112.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Content) != 1 {
		t.Fatalf("want one YAML document, got %d", len(doc.Content))
	}
	root := doc.Content[0]

	// Every key of Default(), including the fields of list entries.
	var walk func(prefix string, typ reflect.Type, node *yaml.Node)
	walk = func(prefix string, typ reflect.Type, node *yaml.Node) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := f.Tag.Get("mapstructure")
			if name == "-" {
				continue // set by code, not a key (Embedded.Auth)
			}
			key := strings.TrimPrefix(prefix+"."+name, ".")
			keyNode, val := mappingEntry(node, name)
			if val == nil {
				t.Errorf("configs/siaga112.yaml has no key %s", key)
				continue
			}
			// Keys of list entries are documented on the list itself.
			if !strings.Contains(prefix, "[") && keyNode.HeadComment == "" && keyNode.LineComment == "" {
				t.Errorf("configs/siaga112.yaml: key %s has no comment", key)
			}
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]():
				walk(key, f.Type, val)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				for j, item := range val.Content {
					walk(key+"["+strconv.Itoa(j)+"]", f.Type.Elem(), item)
				}
			}
		}
	}
	walk("", reflect.TypeFor[configs.Config](), root)
}

// mappingEntry finds name in a YAML mapping node.
func mappingEntry(m *yaml.Node, name string) (key, value *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == name {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func TestRedacted(t *testing.T) {
	c := configs.Default()
	c.ARI.Nodes = append(c.ARI.Nodes, configs.ARINode{Name: "b", Password: ""})
	c.HTTP.AdminToken = "tok-123"
	c.NATS.TLS.Key = "/etc/siaga112/client.key"
	c.NATS.TLS.Cert = "/etc/siaga112/client.pem"
	c.NATS.Creds = "/etc/siaga112/nats.creds"
	c.NATS.URL = "nats://ivr:natspw-1@n1:4222,natspw-2@n2:4222"
	c.ARI.Nodes[0].URL = "http://asterisk:aripw-1@pbx:8088/ari"
	c.ARI.Nodes[0].WSURL = "ws://asterisk:aripw-2@pbx:8088/ari/events"
	c.ARI.Nodes[1].URL = "http://pbx2:8088/ari?api_key=asterisk:aripw-3"
	c.ARI.Nodes[1].WSURL = "ws://pbx2:8088/ari/events?api_key=asterisk:aripw-4&app=siaga112"

	r := c.Redacted()
	tests := []struct {
		name, got, want string
	}{
		{"node password", r.ARI.Nodes[0].Password, "***"},
		{"empty password stays empty", r.ARI.Nodes[1].Password, ""},
		{"admin token", r.HTTP.AdminToken, "***"},
		{"tls key", r.NATS.TLS.Key, "***"},
		{"creds", r.NATS.Creds, "***"},
		{"unset nkey stays empty", r.NATS.NKey, ""},
		{"tls cert is not secret", r.NATS.TLS.Cert, "/etc/siaga112/client.pem"},
		{"username is not secret", r.ARI.Nodes[0].Username, configs.DefaultARIUser},
		{"original untouched", c.ARI.Nodes[0].Password, configs.DefaultARIPassword},
		{"original token untouched", c.HTTP.AdminToken, "tok-123"},
		{"nats url userinfo", r.NATS.URL, "nats://ivr:***@n1:4222,***@n2:4222"},
		{"ari url userinfo", r.ARI.Nodes[0].URL, "http://asterisk:***@pbx:8088/ari"},
		{"ari ws url userinfo", r.ARI.Nodes[0].WSURL, "ws://asterisk:***@pbx:8088/ari/events"},
		{"ari url api_key", r.ARI.Nodes[1].URL, "http://pbx2:8088/ari?api_key=***"},
		{"ari ws url api_key", r.ARI.Nodes[1].WSURL, "ws://pbx2:8088/ari/events?api_key=***&app=siaga112"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}

	out, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{configs.DefaultARIPassword, "tok-123", "client.key", "nats.creds", "natspw", "aripw"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("redacted YAML contains %q:\n%s", secret, out)
		}
	}
}

func TestYAMLRoundTrip(t *testing.T) {
	clearEnv(t)
	c := configs.Default()
	c.NATS.URL = "nats://a:4222"
	c.IVR.Menu[0].Digit = "*"
	c.Blocklist.Allowlist = []string{"+628111"}
	c.Blocklist.Ladder = []time.Duration{90 * time.Second, 36 * time.Hour}
	c.IVR.TalkDetect = false
	c.HTTP.AdminToken = "true" // a string that YAML would otherwise read as a bool

	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"max_block: 5ms", "max_age: 2160h", "- 1m30s", "- 36h", `digit: '*'`, `admin_token: "true"`} {
		if !strings.Contains(text, want) {
			t.Errorf("YAML lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "5000000") {
		t.Errorf("durations printed as integers:\n%s", text)
	}

	back, err := loadFile(t, writeConfig(t, text))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("YAML does not load back to the same Config:\n%s", text)
	}
}
