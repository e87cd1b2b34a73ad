// Package ariapi turns Asterisk's ARI api-docs (the swagger 1.2 JSON files of
// rest-api/api-docs plus resources.json) into the small description that the
// simulator's conformance test checks the wire against, and reads it back.
//
// Why a description of our own instead of the api-docs themselves: the api-docs
// live outside the repository (../shared/asterisk-ari-22 beside the project root),
// so a test that read them failed on every plain clone, CI included. The
// description keeps only facts the test needs — model names, property names, JSON
// types, whether a property is required, the allowed values of an enumeration,
// which models extend which, and each operation's method, path and response class —
// and none of Asterisk's prose. It is written in a fixed order (map keys sorted,
// operations sorted by path and method, one entry per line) so that regenerating
// from the same api-docs gives the same bytes and a change shows as a small diff.
package ariapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Generator names the command that writes the description; the file says so.
const Generator = "go generate ./ari/arisim (runs ./ari/arisim/internal/ariapigen)"

// DefaultSpecDir is where the project's developers keep Asterisk 22's api-docs,
// relative to the repository root.
const DefaultSpecDir = "../shared/asterisk-ari-22"

// ErrInvalid is wrapped by every error about api-docs or a description that do not
// hold what the conformance test relies on.
var ErrInvalid = errors.New("ariapi: invalid ARI description")

// Description is what the conformance test knows about Asterisk's ARI.
type Description struct {
	// GeneratedBy says how the file was made; it is not part of the API.
	GeneratedBy string `json:"generatedBy"`
	// ARIVersion is the apiVersion of resources.json (10.0.0 for Asterisk 22).
	ARIVersion string `json:"ariVersion"`
	// Models maps a model id to its definition.
	Models map[string]Model `json:"models"`
	// Operations holds every REST operation, sorted by path, then method.
	Operations []Operation `json:"operations"`
}

// Model is one ARI model.
type Model struct {
	// SubTypes lists the models that extend this one (sorted); such a model has
	// this one's properties as well as its own.
	SubTypes []string `json:"subTypes,omitempty"`
	// Properties maps a JSON field name to its definition.
	Properties map[string]Property `json:"properties"`
}

// Property is one field of a model.
type Property struct {
	// Type is a swagger type: string, long, int, double, boolean, Date, object,
	// a model id, or List[...] of one of these.
	Type string `json:"type"`
	// Required is true when Asterisk always sends the field.
	Required bool `json:"required,omitempty"`
	// Allowed lists the values of an enumerated string (sorted); empty when any
	// value of Type is allowed.
	Allowed []string `json:"allowed,omitempty"`
}

// Operation is one REST operation.
type Operation struct {
	// Method is the HTTP method.
	Method string `json:"method"`
	// Path is below /ari, with {name} for each path parameter.
	Path string `json:"path"`
	// PathParams is the number of {name} segments in Path.
	PathParams int `json:"pathParams"`
	// ResponseClass is the swagger type of the body on success ("void" for none).
	ResponseClass string `json:"responseClass"`
}

// swaggerFile is the part of an api-docs file that the description is made from.
// Fields that are left out (descriptions, notes, parameters, error responses) are
// ignored by the decoder on purpose.
type swaggerFile struct {
	APIVersion string `json:"apiVersion"`
	APIs       []struct {
		Path       string `json:"path"`
		Operations []struct {
			HTTPMethod    string `json:"httpMethod"`
			ResponseClass string `json:"responseClass"`
		} `json:"operations"`
	} `json:"apis"`
	Models map[string]struct {
		ID         string   `json:"id"`
		SubTypes   []string `json:"subTypes"`
		Properties map[string]struct {
			Type            string `json:"type"`
			Required        bool   `json:"required"`
			AllowableValues *struct {
				ValueType string   `json:"valueType"`
				Values    []string `json:"values"`
			} `json:"allowableValues"`
		} `json:"properties"`
	} `json:"models"`
}

// FromSwagger reads every *.json file in dir (Asterisk's api-docs and
// resources.json) and builds the description. It refuses input it would have to
// drop silently: an enumeration other than a value list, a model defined twice, an
// operation defined twice or a subtype that is not a model.
func FromSwagger(dir string) (*Description, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no *.json api-docs in %s", ErrInvalid, dir)
	}
	sort.Strings(files)
	d := &Description{GeneratedBy: Generator, Models: map[string]Model{}}
	seenOps := map[string]string{}
	modelFile := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var sf swaggerFile
		if err := json.Unmarshal(data, &sf); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, f, err)
		}
		base := filepath.Base(f)
		if base == "resources.json" {
			d.ARIVersion = sf.APIVersion
		}
		for name, sm := range sf.Models {
			if sm.ID != name {
				return nil, fmt.Errorf("%w: %s: model %q has id %q", ErrInvalid, base, name, sm.ID)
			}
			if prev, dup := modelFile[name]; dup {
				return nil, fmt.Errorf("%w: model %q is defined in %s and %s", ErrInvalid, name, prev, base)
			}
			modelFile[name] = base
			m := Model{SubTypes: sortedCopy(sm.SubTypes), Properties: map[string]Property{}}
			for pname, sp := range sm.Properties {
				if sp.Type == "" {
					return nil, fmt.Errorf("%w: %s: %s.%s has no type", ErrInvalid, base, name, pname)
				}
				p := Property{Type: sp.Type, Required: sp.Required}
				if av := sp.AllowableValues; av != nil {
					// Asterisk 22 uses only value lists; a range would need a check the
					// conformance test does not have, so it must not vanish unnoticed.
					if av.ValueType != "LIST" {
						return nil, fmt.Errorf("%w: %s: %s.%s has allowable values of type %q; only LIST is supported",
							ErrInvalid, base, name, pname, av.ValueType)
					}
					p.Allowed = sortedCopy(av.Values)
				}
				m.Properties[pname] = p
			}
			d.Models[name] = m
		}
		for _, api := range sf.APIs {
			for _, op := range api.Operations {
				if op.HTTPMethod == "" || op.ResponseClass == "" {
					return nil, fmt.Errorf("%w: %s: an operation on %s lacks its method or response class", ErrInvalid, base, api.Path)
				}
				key := op.HTTPMethod + " " + api.Path
				if prev, dup := seenOps[key]; dup {
					return nil, fmt.Errorf("%w: %s is defined in %s and %s", ErrInvalid, key, prev, base)
				}
				seenOps[key] = base
				d.Operations = append(d.Operations, Operation{
					Method:        op.HTTPMethod,
					Path:          api.Path,
					PathParams:    strings.Count(api.Path, "{"),
					ResponseClass: op.ResponseClass,
				})
			}
		}
	}
	if d.ARIVersion == "" {
		return nil, fmt.Errorf("%w: %s has no resources.json with an apiVersion", ErrInvalid, dir)
	}
	sort.Slice(d.Operations, func(i, j int) bool {
		a, b := d.Operations[i], d.Operations[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Method < b.Method
	})
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// Validate checks that the description is complete enough to test against: it
// holds models and operations, and every subtype it names is a model.
func (d *Description) Validate() error {
	if len(d.Models) == 0 || len(d.Operations) == 0 {
		return fmt.Errorf("%w: %d models and %d operations", ErrInvalid, len(d.Models), len(d.Operations))
	}
	for name, m := range d.Models {
		for _, sub := range m.SubTypes {
			if _, ok := d.Models[sub]; !ok {
				return fmt.Errorf("%w: model %q names subtype %q, which is not a model", ErrInvalid, name, sub)
			}
		}
		for pname, p := range m.Properties {
			if p.Type == "" {
				return fmt.Errorf("%w: %s.%s has no type", ErrInvalid, name, pname)
			}
		}
	}
	for _, op := range d.Operations {
		if op.Method == "" || op.Path == "" || op.ResponseClass == "" {
			return fmt.Errorf("%w: incomplete operation %+v", ErrInvalid, op)
		}
	}
	return nil
}

// Parse decodes a description written by Marshal. Unknown fields are an error, so
// a hand edit with a misspelt key fails instead of being ignored.
func Parse(data []byte) (*Description, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Description
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Marshal writes the description in its fixed layout: models and their properties
// in key order, one property and one operation per line.
func (d *Description) Marshal() ([]byte, error) {
	var b bytes.Buffer
	line := func(indent int, parts ...string) {
		b.WriteString(strings.Repeat("\t", indent))
		for _, p := range parts {
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	var encErr error
	enc := func(v any) string {
		out, err := json.Marshal(v)
		if err != nil && encErr == nil {
			encErr = err
		}
		return string(out)
	}
	comma := func(i, n int) string {
		if i < n-1 {
			return ","
		}
		return ""
	}
	line(0, "{")
	line(1, `"generatedBy": `, enc(d.GeneratedBy), ",")
	line(1, `"ariVersion": `, enc(d.ARIVersion), ",")
	line(1, `"models": {`)
	names := sortedKeys(d.Models)
	for i, name := range names {
		m := d.Models[name]
		line(2, enc(name), ": {")
		if len(m.SubTypes) > 0 {
			line(3, `"subTypes": `, enc(sortedCopy(m.SubTypes)), ",")
		}
		props := sortedKeys(m.Properties)
		if len(props) == 0 {
			line(3, `"properties": {}`)
		} else {
			line(3, `"properties": {`)
			for j, pname := range props {
				line(4, enc(pname), ": ", enc(m.Properties[pname]), comma(j, len(props)))
			}
			line(3, "}")
		}
		line(2, "}", comma(i, len(names)))
	}
	line(1, "},")
	line(1, `"operations": [`)
	for i, op := range d.Operations {
		line(2, enc(op), comma(i, len(d.Operations)))
	}
	line(1, "]")
	line(0, "}")
	if encErr != nil {
		return nil, encErr
	}
	// The hand-made layout must still be JSON that Parse accepts.
	if !json.Valid(b.Bytes()) {
		return nil, fmt.Errorf("%w: marshalled description is not valid JSON", ErrInvalid)
	}
	return b.Bytes(), nil
}

// RepoRoot returns the nearest directory at or above start that holds go.mod.
func RepoRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("ariapi: no go.mod at or above %s", start)
		}
		dir = parent
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
