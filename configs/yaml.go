package configs

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// SecretMask is the text shown in place of a secret that is set.
const SecretMask = "***"

// Redacted returns a copy of c with every secret that is set replaced by
// "***": ARI passwords, the HTTP admin token, the NATS TLS key and the
// NATS credentials and nkey file paths, and the password (or token) in the
// userinfo of every URL: nats.url and the ARI node and origin URLs. Empty
// secrets stay empty so the output still shows that they are unset. c
// itself is not changed.
func (c Config) Redacted() Config {
	hide := func(s *string) {
		if *s != "" {
			*s = SecretMask
		}
	}
	// Nodes is the only slice holding secrets; copy it before writing.
	c.ARI.Nodes = append([]ARINode(nil), c.ARI.Nodes...)
	for i := range c.ARI.Nodes {
		n := &c.ARI.Nodes[i]
		hide(&n.Password)
		n.URL, n.WSURL = RedactURL(n.URL), RedactURL(n.WSURL)
	}
	c.ARI.Origin = RedactURL(c.ARI.Origin)
	c.NATS.URL = RedactURL(c.NATS.URL)
	hide(&c.HTTP.AdminToken)
	hide(&c.NATS.TLS.Key)
	hide(&c.NATS.Creds)
	hide(&c.NATS.NKey)
	return c
}

// YAML renders c in the layout of configs/siaga112.yaml, with durations as
// strings such as "5s" so that the output can be loaded again. It does not
// redact; call Redacted first when the output is shown to people.
func (c Config) YAML() ([]byte, error) {
	n, err := yamlNode(reflect.ValueOf(c))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("config: encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlNode builds the node tree by hand, rather than marshalling the
// struct, so that durations come out as "5s" instead of nanoseconds and
// keys keep the struct's order.
func yamlNode(v reflect.Value) (*yaml.Node, error) {
	scalar := func(tag, val string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val}
	}
	switch {
	case v.Type() == durationType:
		return scalar("!!str", FormatDuration(time.Duration(v.Int()))), nil
	case v.Kind() == reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		t := v.Type()
		for i := range t.NumField() {
			name := t.Field(i).Tag.Get("yaml")
			if name == "" || name == "-" {
				continue
			}
			child, err := yamlNode(v.Field(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, scalar("!!str", name), child)
		}
		return n, nil
	case v.Kind() == reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v.Len() == 0 {
			n.Style = yaml.FlowStyle // prints []
		}
		for i := range v.Len() {
			child, err := yamlNode(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, child)
		}
		return n, nil
	case v.Kind() == reflect.String:
		return scalar("!!str", v.String()), nil
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool())), nil
	case v.CanInt():
		return scalar("!!int", strconv.FormatInt(v.Int(), 10)), nil
	default:
		return nil, fmt.Errorf("config: cannot render %s as YAML", v.Type())
	}
}
