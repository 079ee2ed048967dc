// A small stand-in for `helm template`: Helm cannot be installed here, so
// this renders a chart with the engine Helm uses (Go's text/template with
// sprig) and the Helm built-ins our chart needs: include, tpl, required,
// toYaml/fromYaml/toJson, .Values (chart defaults coalesced with values
// files, then checked against values.schema.json), .Release, .Chart,
// .Files.Get and .Template. Behaviour follows Helm 3 where it matters:
// numbers in values are float64 (Helm reads YAML through JSON), a null in a
// values file deletes the default, missing keys render as "", toYaml emits
// JSON-ordered (sorted) keys without a trailing newline.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
	"gopkg.in/yaml.v3"
)

// Chart is a chart directory loaded into memory.
type Chart struct {
	Metadata  map[string]interface{} // .Chart: Chart.yaml with Helm's field names
	Defaults  map[string]interface{} // values.yaml
	Schema    []byte                 // values.schema.json, nil when absent
	Templates map[string]string      // "templates/x.yaml" -> text
	Files     map[string][]byte      // every other file, by chart-relative path
}

// Release is what .Release holds.
type Release struct {
	Name      string
	Namespace string
}

// Rendered is the output of one render.
type Rendered struct {
	Manifests map[string]string // template path -> rendered text (non-empty only)
	Notes     string
	Values    map[string]interface{}
}

// LoadChart reads a chart directory.
func LoadChart(dir string) (*Chart, error) {
	c := &Chart{Templates: map[string]string{}, Files: map[string][]byte{}}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(rel, "templates/") {
			c.Templates[rel] = string(data)
		} else {
			c.Files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var meta map[string]interface{}
	if err := unmarshalLikeHelm(c.Files["Chart.yaml"], &meta); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	c.Metadata = map[string]interface{}{}
	for k, v := range meta {
		c.Metadata[helmFieldName(k)] = v
	}
	if err := unmarshalLikeHelm(c.Files["values.yaml"], &c.Defaults); err != nil {
		return nil, fmt.Errorf("values.yaml: %v", err)
	}
	if c.Defaults == nil {
		c.Defaults = map[string]interface{}{}
	}
	c.Schema = c.Files["values.schema.json"]
	return c, nil
}

// helmFieldName maps a Chart.yaml key to its .Chart field (appVersion ->
// AppVersion, apiVersion -> APIVersion).
func helmFieldName(key string) string {
	if key == "apiVersion" {
		return "APIVersion"
	}
	return strings.ToUpper(key[:1]) + key[1:]
}

// unmarshalLikeHelm parses YAML the way Helm does (sigs.k8s.io/yaml: YAML
// to JSON to Go), so numbers become float64.
func unmarshalLikeHelm(data []byte, out interface{}) error {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return err
	}
	j, err := json.Marshal(normalize(raw))
	if err != nil {
		return err
	}
	if string(j) == "null" {
		return nil
	}
	return json.Unmarshal(j, out)
}

// normalize turns yaml.v3's map[interface{}]interface{} (non-string keys)
// into JSON-compatible maps.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []interface{}:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	}
	return v
}

// coalesce merges user values over chart defaults as Helm does: maps merge
// recursively, anything else replaces, and a user null deletes the key.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range user {
		if v == nil {
			delete(out, k)
			continue
		}
		um, uok := v.(map[string]interface{})
		dm, dok := out[k].(map[string]interface{})
		if uok && dok {
			out[k] = coalesce(um, dm)
		} else {
			out[k] = v
		}
	}
	return out
}

// ToYAML is Helm's toYaml: JSON field order (sorted keys), two-space
// indentation, no trailing newline; "" when v cannot be marshalled.
func ToYAML(v interface{}) string {
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber() // so 1000000000 stays an integer, not 1e+09
	var generic interface{}
	if err := dec.Decode(&generic); err != nil {
		return ""
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(numbersAsNumbers(generic)); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// numbersAsNumbers replaces json.Number by int64 or float64 so YAML prints
// 20 and 1000000000 (as Helm does), not "20" or 1e+09.
func numbersAsNumbers(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			t[k] = numbersAsNumbers(e)
		}
	case []interface{}:
		for i, e := range t {
			t[i] = numbersAsNumbers(e)
		}
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
	}
	return v
}

func fromYAML(s string) map[string]interface{} {
	var m map[string]interface{}
	if err := unmarshalLikeHelm([]byte(s), &m); err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	return m
}

func toJSON(v interface{}) string {
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(j)
}

// files is .Files.
type files map[string][]byte

func (f files) Get(name string) string { return string(f[name]) }

func (f files) Lines(name string) []string {
	if len(f[name]) == 0 {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(string(f[name]), "\n"), "\n")
}

// ValidateValues checks values against the chart's JSON schema, as Helm
// does before rendering.
func (c *Chart) ValidateValues(values map[string]interface{}) error {
	if c.Schema == nil {
		return nil
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(c.Schema),
		gojsonschema.NewGoLoader(values))
	if err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	if result.Valid() {
		return nil
	}
	var msgs []string
	for _, e := range result.Errors() {
		msgs = append(msgs, "- "+e.String())
	}
	sort.Strings(msgs)
	return fmt.Errorf("values don't meet the schema:\n%s", strings.Join(msgs, "\n"))
}

// Values merges the values files (later ones win) over the defaults.
func (c *Chart) Values(valuesFiles ...string) (map[string]interface{}, error) {
	values := c.Defaults
	for _, file := range valuesFiles {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var user map[string]interface{}
		if err := unmarshalLikeHelm(data, &user); err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		values = coalesce(user, values)
	}
	return values, nil
}

// Render renders every template with the given values files over the
// chart's defaults.
func (c *Chart) Render(release Release, valuesFiles ...string) (*Rendered, error) {
	values, err := c.Values(valuesFiles...)
	if err != nil {
		return nil, err
	}
	if err := c.ValidateValues(values); err != nil {
		return nil, err
	}
	chartName, _ := c.Metadata["Name"].(string)
	top := template.New(chartName)
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env") // Helm removes these two
	delete(funcs, "expandenv")
	includes := 0
	funcs["toYaml"] = ToYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = toJSON
	funcs["include"] = func(name string, data interface{}) (string, error) {
		includes++
		if includes > 10000 {
			return "", fmt.Errorf("include %q: too deep", name)
		}
		var buf bytes.Buffer
		err := top.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := top.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, fmt.Errorf("%s", msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	top.Funcs(funcs).Option("missingkey=zero")

	var names []string
	for name := range c.Templates {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := top.New(path.Join(chartName, name)).Parse(c.Templates[name]); err != nil {
			return nil, err
		}
	}
	out := &Rendered{Manifests: map[string]string{}, Values: values}
	for _, name := range names {
		base := path.Base(name)
		if strings.HasPrefix(base, "_") {
			continue
		}
		full := path.Join(chartName, name)
		data := map[string]interface{}{
			"Values":   values,
			"Chart":    c.Metadata,
			"Files":    files(c.Files),
			"Release":  map[string]interface{}{"Name": release.Name, "Namespace": release.Namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
			"Template": map[string]interface{}{"Name": full, "BasePath": path.Join(chartName, "templates")},
		}
		var buf bytes.Buffer
		if err := top.ExecuteTemplate(&buf, full, data); err != nil {
			return nil, err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			out.Notes = text
		} else if strings.TrimSpace(text) != "" {
			out.Manifests[name] = text
		}
	}
	return out, nil
}

// Documents splits the manifests into parsed YAML documents, in template
// order; empty documents are dropped.
func (r *Rendered) Documents() ([]map[string]interface{}, error) {
	var names []string
	for name := range r.Manifests {
		names = append(names, name)
	}
	sort.Strings(names)
	var docs []map[string]interface{}
	for _, name := range names {
		dec := yaml.NewDecoder(strings.NewReader(r.Manifests[name]))
		for {
			var doc map[string]interface{}
			err := dec.Decode(&doc)
			if err != nil {
				if err.Error() == "EOF" {
					break
				}
				return nil, fmt.Errorf("%s: %v\n%s", name, err, r.Manifests[name])
			}
			if doc != nil {
				docs = append(docs, doc)
			}
		}
	}
	return docs, nil
}

// YAML is every manifest as one stream, as `helm template` prints it.
func (r *Rendered) YAML() string {
	var names []string
	for name := range r.Manifests {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, strings.TrimSpace(r.Manifests[name]))
	}
	return b.String()
}
