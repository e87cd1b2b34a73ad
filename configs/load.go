package configs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable siaga112 reads. The rest of
// the name is the config key in upper case with "." replaced by "_":
// http.admin_token is SIAGA112_HTTP_ADMIN_TOKEN.
const EnvPrefix = "SIAGA112"

// ErrFile is wrapped by every error about finding, reading or parsing the
// config file.
var ErrFile = errors.New("config: cannot read file")

// LoadOptions says where Load finds its sources besides the built-in
// defaults and the SIAGA112_* environment variables.
type LoadOptions struct {
	// File is the path given with --config. When set it must exist.
	File string
	// Search lists the files tried in order when File is empty; the first
	// that exists is read and a missing one is skipped. Nil means
	// DefaultSearch(); an empty non-nil slice reads no file at all.
	Search []string
	// Flags is the caller's parsed flag set. A flag is bound to the config
	// key whose environment name it matches once "-" is read as "_"
	// (--log-level sets log.level); flags that match no key, such as
	// --config, are ignored. Only flags the user set override a value.
	Flags *pflag.FlagSet
}

// SystemFile is the system-wide config file.
const SystemFile = "/etc/siaga112/siaga112.yaml"

// DefaultSearch is where Load looks for a config file when no --config is
// given: the working directory first, then the system-wide file.
func DefaultSearch() []string {
	return []string{"siaga112.yaml", SystemFile}
}

// AdminSearch is where the admin commands (blocklist, verdict, user) look
// when no --config is given: the system-wide file only. They log in with
// the admin's key and write the accounts file, so a siaga112.yaml that
// anyone could leave in a directory an administrator happens to be in
// (pointing nats.url or http.accounts_file elsewhere) must not steer them.
func AdminSearch() []string {
	return []string{SystemFile}
}

// ResolveFile returns the config file Load would read: opts.File, or the
// first existing file of the search list, or "" when there is none.
func ResolveFile(opts LoadOptions) (string, error) {
	if opts.File != "" {
		if err := checkFile(opts.File); err != nil {
			return "", err
		}
		return opts.File, nil
	}
	search := opts.Search
	if search == nil {
		search = DefaultSearch()
	}
	for _, p := range search {
		err := checkFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return p, nil
	}
	return "", nil
}

// Load builds the effective configuration from, in increasing order of
// precedence: Default(), the config file, SIAGA112_* environment variables
// and the flags in opts.Flags. It then validates the result.
//
// Errors: a missing --config file or an unreadable or malformed file wraps
// ErrFile. Everything else — unknown keys in the file, unknown SIAGA112_*
// variables, values of the wrong type and failed checks — is reported at
// once in one *ValidationError (which wraps ErrInvalid). On error the
// returned Config is the zero value.
//
// Lists in the environment: string lists (blocklist.allowlist) and duration
// lists (blocklist.ladder) take a comma-separated value ("1h,6h") or a JSON
// array. Lists of records (ari.nodes, ivr.menu) take a JSON array of
// objects keyed like the file, replacing the whole list; one field of one
// element can also be set by index, e.g. SIAGA112_ARI_NODES_0_PASSWORD,
// which is applied after the file and the JSON form.
func Load(opts LoadOptions) (Config, error) {
	path, err := ResolveFile(opts)
	if err != nil {
		return Config{}, err
	}

	sch := newSchema()
	d := &decoder{}
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	// A variable that is set but empty means "empty", so that a default
	// can be cleared from the environment.
	v.AllowEmptyEnv(true)
	v.AutomaticEnv()
	// viper only consults the environment for keys it knows, so every key
	// gets a default, taken from Default() itself.
	for _, k := range sch.keys {
		v.SetDefault(k.name, k.def)
	}

	if path != "" {
		data, err := readFile(path)
		if err != nil {
			return Config{}, err
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return Config{}, fmt.Errorf("%w %s: %w", ErrFile, path, err)
		}
		// viper drops keys whose value is empty ("typo:") before they
		// reach the decoder, so the file's own keys are checked here too.
		var raw map[string]any
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return Config{}, fmt.Errorf("%w %s: %w", ErrFile, path, err)
		}
		d.fileKeys("", raw, reflect.TypeFor[Config]())
	}

	if opts.Flags != nil {
		var bindErr error
		opts.Flags.VisitAll(func(f *pflag.Flag) {
			envName := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			if k, ok := sch.byEnv[envName]; ok && bindErr == nil {
				bindErr = v.BindPFlag(k.name, f)
			}
		})
		if bindErr != nil {
			return Config{}, fmt.Errorf("%w: binding flags: %w", ErrInvalid, bindErr)
		}
	}

	settings := v.AllSettings()
	d.applyIndexedEnv(sch, settings, os.Environ())
	cfg := Default()
	d.structFrom("", settings, reflect.ValueOf(&cfg).Elem())

	errs := d.errs
	if err := cfg.Validate(); err != nil {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return Config{}, err
		}
		// A key that could not be decoded kept its default or zero value;
		// checking that value again would only add noise under it.
		for _, fe := range ve.Errors {
			if !underAny(fe.Key, d.errs) {
				errs = append(errs, fe)
			}
		}
	}
	if len(errs) > 0 {
		return Config{}, &ValidationError{Errors: errs}
	}
	return cfg, nil
}

// underAny reports whether key is, or lies below, the key of one of errs.
func underAny(key string, errs []FieldError) bool {
	for _, e := range errs {
		if key == e.Key || strings.HasPrefix(key, e.Key+".") || strings.HasPrefix(key, e.Key+"[") {
			return true
		}
	}
	return false
}

var durationType = reflect.TypeFor[time.Duration]()

// schemaKey is one key viper holds a value for: a leaf of Config or a whole
// list (lists are replaced as a unit, never merged element by element).
type schemaKey struct {
	name string       // dotted key, e.g. "http.admin_token"
	env  string       // SIAGA112_HTTP_ADMIN_TOKEN
	typ  reflect.Type // Go type of the field
	def  any          // default in the form viper and the decoder expect
}

type schema struct {
	keys  []schemaKey
	byEnv map[string]schemaKey
}

// newSchema walks Default() over its mapstructure tags, so the keys, their
// defaults and the struct cannot drift apart.
func newSchema() schema {
	s := schema{byEnv: map[string]schemaKey{}}
	walkLeaves(reflect.ValueOf(Default()), "", func(name string, v reflect.Value) {
		k := schemaKey{name: name, env: envName(name), typ: v.Type(), def: toSetting(v)}
		s.keys = append(s.keys, k)
		s.byEnv[k.env] = k
	})
	return s
}

func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// walkLeaves calls fn for every non-struct field of the struct v (and for
// every list, which counts as a leaf), with its dotted key.
func walkLeaves(v reflect.Value, prefix string, fn func(key string, v reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := joinKey(prefix, tag)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			walkLeaves(fv, key, fn)
			continue
		}
		fn(key, fv)
	}
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// toSetting turns a value of Config into the plain form a parsed file has:
// structs become map[string]any keyed by mapstructure tag and lists of
// structs become []any of those maps. Scalars are kept as they are.
func toSetting(v reflect.Value) any {
	switch {
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		m := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			if tag := t.Field(i).Tag.Get("mapstructure"); tag != "" && tag != "-" {
				m[tag] = toSetting(v.Field(i))
			}
		}
		return m
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = toSetting(v.Index(i))
		}
		return out
	default:
		return v.Interface()
	}
}

// decoder copies a settings map onto a Config, recording every problem
// instead of stopping at the first.
type decoder struct {
	errs []FieldError
}

func (d *decoder) add(key string, value any, msg string) {
	for _, e := range d.errs {
		if e.Key == key && e.Msg == msg {
			return // found twice: by the file check and by the decoder
		}
	}
	d.errs = append(d.errs, FieldError{Key: key, Value: value, Msg: msg})
}

// fileKeys reports every key of a parsed file that matches no field of t,
// descending into sections and lists of records.
func (d *decoder) fileKeys(prefix string, raw any, t reflect.Type) {
	m, ok := raw.(map[string]any)
	if !ok {
		return // a wrong shape is reported by the decoder
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := strings.ToLower(k)
		key := joinKey(prefix, name)
		i, ok := fieldIndex(t, name)
		if !ok {
			d.add(key, nil, "is not a known key")
			continue
		}
		ft := t.Field(i).Type
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			d.fileKeys(key, m[k], ft)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			items, _ := m[k].([]any)
			for j, item := range items {
				d.fileKeys(fmt.Sprintf("%s[%d]", key, j), item, ft.Elem())
			}
		}
	}
}

// applyIndexedEnv applies SIAGA112_<LIST>_<i>_<FIELD> variables to lists of
// records in settings, and reports SIAGA112_* variables that name nothing.
func (d *decoder) applyIndexedEnv(s schema, settings map[string]any, environ []string) {
	var names []string
	values := map[string]string{}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix+"_") {
			continue
		}
		if _, ok := s.byEnv[name]; ok {
			continue // read by viper
		}
		names = append(names, name)
		values[name] = val
	}
	sort.Strings(names)
	for _, name := range names {
		if !d.indexedEnv(s, settings, name, values[name]) {
			d.add(name, nil, "is not a known setting (environment variable)")
		}
	}
}

// indexedEnv applies one SIAGA112_<LIST>_<i>_<FIELD> variable and reports
// whether the name had that form for a known list and field.
func (d *decoder) indexedEnv(s schema, settings map[string]any, name, val string) bool {
	for _, k := range s.keys {
		if k.typ.Kind() != reflect.Slice || k.typ.Elem().Kind() != reflect.Struct {
			continue
		}
		rest, ok := strings.CutPrefix(name, k.env+"_")
		if !ok {
			continue
		}
		idxText, field, ok := strings.Cut(rest, "_")
		if !ok {
			return false
		}
		idx, err := strconv.Atoi(idxText)
		if err != nil || idx < 0 {
			return false
		}
		field = strings.ToLower(field)
		if _, ok := fieldIndex(k.typ.Elem(), field); !ok {
			return false
		}
		key := fmt.Sprintf("%s[%d].%s", k.name, idx, field)
		parent, last := lookupParent(settings, k.name)
		if parent == nil {
			return false
		}
		items, ok := d.list(k.name, parent[last])
		if !ok {
			return true // the list itself is reported when decoded
		}
		if idx >= len(items) {
			d.add(key, val, fmt.Sprintf("is set by %s but the list has %d entries", name, len(items)))
			return true
		}
		// Copy the list and the element so viper's own maps stay untouched.
		items = append([]any(nil), items...)
		elem, ok := items[idx].(map[string]any)
		if !ok {
			return true
		}
		cp := make(map[string]any, len(elem)+1)
		for ek, ev := range elem {
			cp[ek] = ev
		}
		cp[field] = val
		items[idx] = cp
		parent[last] = items
		return true
	}
	return false
}

// lookupParent finds the map holding the dotted key, returning it and the
// last key segment.
func lookupParent(m map[string]any, key string) (map[string]any, string) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return nil, ""
		}
		m = next
	}
	return m, parts[len(parts)-1]
}

// fieldIndex finds the field of struct type t whose mapstructure tag is name.
func fieldIndex(t reflect.Type, name string) (int, bool) {
	for i := range t.NumField() {
		if strings.EqualFold(t.Field(i).Tag.Get("mapstructure"), name) {
			return i, true
		}
	}
	return 0, false
}

// structFrom decodes the mapping raw onto the struct dst. Keys of raw that
// match no field are reported; fields raw does not mention keep their
// current value.
func (d *decoder) structFrom(key string, raw any, dst reflect.Value) {
	m, ok := raw.(map[string]any)
	if !ok {
		d.add(key, raw, "is not a mapping of keys to values")
		return
	}
	seen := map[string]bool{}
	t := dst.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		for k, v := range m {
			if !strings.EqualFold(k, tag) {
				continue
			}
			seen[k] = true
			if v != nil {
				d.value(joinKey(key, tag), v, dst.Field(i))
			}
		}
	}
	var unknown []string
	for k := range m {
		if !seen[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		d.add(joinKey(key, k), nil, "is not a known key")
	}
}

func (d *decoder) value(key string, raw any, dst reflect.Value) {
	switch {
	case dst.Kind() == reflect.Struct && dst.Type() != durationType:
		d.structFrom(key, raw, dst)
	case dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Struct:
		items, ok := d.list(key, raw)
		if !ok {
			return
		}
		out := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, item := range items {
			d.structFrom(fmt.Sprintf("%s[%d]", key, i), item, out.Index(i))
		}
		if len(items) == 0 {
			out = reflect.Zero(dst.Type())
		}
		dst.Set(out)
	default:
		d.leaf(key, raw, dst)
	}
}

// list accepts a list of records as parsed from a file or as a JSON array
// in a string (the environment form).
func (d *decoder) list(key string, raw any) ([]any, bool) {
	switch x := raw.(type) {
	case []any:
		return x, true
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return nil, true
		}
		var items []any
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			d.add(key, raw, "is not a list of mappings (in the environment: a JSON array of objects)")
			return nil, false
		}
		return items, true
	default:
		d.add(key, raw, "is not a list")
		return nil, false
	}
}

// leaf decodes a scalar or a list of scalars with mapstructure. Weak typing
// is on because environment variables are always strings ("3", "true");
// the hooks keep it from accepting numbers as durations.
func (d *decoder) leaf(key string, raw any, dst reflect.Value) {
	tmp := reflect.New(dst.Type())
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           tmp.Interface(),
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			stringToListHook,
			strictDurationHook,
			wholeNumberHook,
			mapstructure.StringToTimeDurationHookFunc(),
		),
	})
	if err == nil {
		err = dec.Decode(raw)
	}
	if err != nil {
		d.add(key, raw, typeMsg(dst.Type()))
		return
	}
	v := tmp.Elem()
	if v.Kind() == reflect.Slice && v.Len() == 0 {
		v = reflect.Zero(dst.Type())
	}
	dst.Set(v)
}

func typeMsg(t reflect.Type) string {
	switch {
	case t == durationType:
		return `is not a duration such as "5s", "250ms" or "1h30m"`
	case t.Kind() == reflect.Slice && t.Elem() == durationType:
		return `is not a list of durations such as ["1h", "6h"]`
	case t.Kind() == reflect.Slice:
		return "is not a list of strings"
	case t.Kind() == reflect.Bool:
		return "is not true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "is not a whole number"
	default:
		return "is not a " + t.Kind().String()
	}
}

// stringToListHook reads a string given for a list as a JSON array when it
// starts with "[", else as comma-separated items with spaces trimmed.
func stringToListHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	s := strings.TrimSpace(data.(string))
	if s == "" {
		return []string{}, nil
	}
	if strings.HasPrefix(s, "[") {
		var items []any
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			return nil, err
		}
		return items, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// strictDurationHook refuses bare numbers for durations: weak typing would
// read "timeout: 5" as five nanoseconds.
func strictDurationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return nil, errors.New("a duration needs a unit")
	}
	return data, nil
}

// wholeNumberHook refuses fractions for integer fields instead of letting
// mapstructure truncate them.
func wholeNumberHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() < reflect.Int || to.Kind() > reflect.Int64 || to == durationType {
		return data, nil
	}
	if from.Kind() == reflect.Float32 || from.Kind() == reflect.Float64 {
		f := reflect.ValueOf(data).Float()
		if f != math.Trunc(f) {
			return nil, errors.New("not a whole number")
		}
	}
	return data, nil
}
