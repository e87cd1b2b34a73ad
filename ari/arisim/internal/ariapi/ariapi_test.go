package ariapi

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Small api-docs made up for these tests; only their shape follows swagger 1.2.
const (
	resourcesDoc = `{"apiVersion": "9.9.9", "apis": [{"path": "/api-docs/things.{format}", "description": "ignored"}]}`
	thingsDoc    = `{
		"apiVersion": "1.0.0",
		"apis": [
			{"path": "/things/{thingId}", "description": "ignored", "operations": [
				{"httpMethod": "GET", "summary": "ignored", "responseClass": "Thing"},
				{"httpMethod": "DELETE", "responseClass": "void"}]},
			{"path": "/things", "operations": [{"httpMethod": "GET", "responseClass": "List[Thing]"}]}
		],
		"models": {
			"Base": {"id": "Base", "description": "ignored", "subTypes": ["Thing", "Other"],
				"properties": {"kind": {"type": "string", "required": true, "description": "ignored"}}},
			"Thing": {"id": "Thing", "properties": {
				"colour": {"type": "string", "allowableValues": {"valueType": "LIST", "values": ["red", "blue"]}},
				"size": {"type": "long", "required": false}}},
			"Other": {"id": "Other", "properties": {}}
		}
	}`
)

func writeDocs(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFromSwaggerRoundTrip(t *testing.T) {
	d, err := FromSwagger(writeDocs(t, map[string]string{"resources.json": resourcesDoc, "things.json": thingsDoc}))
	if err != nil {
		t.Fatal(err)
	}
	want := &Description{
		GeneratedBy: Generator,
		ARIVersion:  "9.9.9",
		Models: map[string]Model{
			"Base":  {SubTypes: []string{"Other", "Thing"}, Properties: map[string]Property{"kind": {Type: "string", Required: true}}},
			"Thing": {Properties: map[string]Property{"colour": {Type: "string", Allowed: []string{"blue", "red"}}, "size": {Type: "long"}}},
			"Other": {Properties: map[string]Property{}},
		},
		Operations: []Operation{
			{Method: "GET", Path: "/things", ResponseClass: "List[Thing]"},
			{Method: "DELETE", Path: "/things/{thingId}", PathParams: 1, ResponseClass: "void"},
			{Method: "GET", Path: "/things/{thingId}", PathParams: 1, ResponseClass: "Thing"},
		},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("FromSwagger:\n got %+v\nwant %+v", d, want)
	}
	data, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "ignored") {
		t.Errorf("description carries text from the api-docs:\n%s", data)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("Parse(Marshal(d)):\n got %+v\nwant %+v", back, want)
	}
	again, err := back.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("Marshal is not stable:\n%s\n---\n%s", data, again)
	}
}

func TestFromSwaggerRejects(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no files", map[string]string{}, "no *.json"},
		{"no resources.json", map[string]string{"things.json": thingsDoc}, "no resources.json"},
		{"range enumeration", map[string]string{"resources.json": resourcesDoc, "things.json": strings.Replace(thingsDoc, `"LIST"`, `"RANGE"`, 1)}, `"RANGE"`},
		{"model twice", map[string]string{"resources.json": resourcesDoc, "things.json": thingsDoc,
			"more.json": `{"models": {"Other": {"id": "Other", "properties": {}}}}`}, `model "Other" is defined`},
		{"operation twice", map[string]string{"resources.json": resourcesDoc, "things.json": thingsDoc,
			"more.json": `{"apis": [{"path": "/things", "operations": [{"httpMethod": "GET", "responseClass": "void"}]}]}`}, "GET /things is defined"},
		{"unknown subtype", map[string]string{"resources.json": resourcesDoc, "things.json": strings.Replace(thingsDoc, `"Other"]`, `"Missing"]`, 1)}, `subtype "Missing"`},
		{"untyped property", map[string]string{"resources.json": resourcesDoc, "things.json": strings.Replace(thingsDoc, `"size": {"type": "long"`, `"size": {"format": "x"`, 1)}, "has no type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromSwagger(writeDocs(t, tt.files))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, data string }{
		{"misspelt key", `{"generatedBy":"x","ariVersion":"1","models":{"A":{"properties":{"a":{"type":"string","requird":true}}}},"operations":[{"method":"GET","path":"/a","pathParams":0,"responseClass":"A"}]}`},
		{"no operations", `{"generatedBy":"x","ariVersion":"1","models":{"A":{"properties":{}}},"operations":[]}`},
		{"property without type", `{"generatedBy":"x","ariVersion":"1","models":{"A":{"properties":{"a":{"required":true}}}},"operations":[{"method":"GET","path":"/a","pathParams":0,"responseClass":"A"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.data)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}
