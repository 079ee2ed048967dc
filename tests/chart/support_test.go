package main

// Helpers for the chart tests: rendering, walking parsed manifests.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// chartDir is the chart under test; CHART_DIR overrides it (to try the
// checks on a modified copy).
var chartDir = func() string {
	if d := os.Getenv("CHART_DIR"); d != "" {
		return d
	}
	return "../../charts/gatehouse"
}()

var release = Release{Name: "gh", Namespace: "gatehouse"}

type obj = map[string]interface{}

// render renders with values files from this directory, plus any YAML
// snippets given inline (written to temp files, applied last).
func render(t *testing.T, files []string, snippets ...string) *Rendered {
	t.Helper()
	out, err := tryRender(t, files, snippets...)
	if err != nil {
		t.Fatalf("render %v %v: %v", files, snippets, err)
	}
	return out
}

func tryRender(t *testing.T, files []string, snippets ...string) (*Rendered, error) {
	t.Helper()
	paths := append([]string{}, files...)
	// Not t.TempDir(): its name holds the test's, and helm splits --values
	// at commas.
	dir, err := os.MkdirTemp("", "gatehouse-chart-values-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for i, s := range snippets {
		p := filepath.Join(dir, fmt.Sprintf("snippet%d.yaml", i))
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return Render(chartDir, release, "", paths...)
}

func documents(t *testing.T, r *Rendered) []obj {
	t.Helper()
	docs, err := r.Documents()
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// get walks a path of map keys and list indexes ("spec", "ports", 0).
func get(v interface{}, path ...interface{}) interface{} {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]interface{})
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v interface{}, path ...interface{}) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v interface{}, path ...interface{}) []interface{} {
	l, _ := get(v, path...).([]interface{})
	return l
}

func stringMap(v interface{}) map[string]string {
	out := map[string]string{}
	if m, ok := v.(obj); ok {
		for k, e := range m {
			out[k] = fmt.Sprint(e)
		}
	}
	return out
}

func number(v interface{}) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return -1
}

func ofKind(docs []obj, kind string) []obj {
	var out []obj
	for _, d := range docs {
		if d["kind"] == kind {
			out = append(out, d)
		}
	}
	return out
}

func one(t *testing.T, docs []obj, kind string) obj {
	t.Helper()
	found := ofKind(docs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, got %d", kind, len(found))
	}
	return found[0]
}

func named(docs []obj, kind, name string) obj {
	for _, d := range ofKind(docs, kind) {
		if str(d, "metadata", "name") == name {
			return d
		}
	}
	return nil
}

// subset reports whether every selector label is among labels.
func subset(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false // an empty selector matches everything: never intended
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// serverFlags parses --name=value arguments.
func serverFlags(container obj) map[string]string {
	flags := map[string]string{}
	for _, a := range list(container, "args") {
		s := fmt.Sprint(a)
		name, value, _ := strings.Cut(strings.TrimPrefix(s, "--"), "=")
		flags[name] = value
	}
	return flags
}

func portOf(t *testing.T, hostPort string) int {
	t.Helper()
	i := strings.LastIndex(hostPort, ":")
	p, err := strconv.Atoi(hostPort[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("%q is not HOST:PORT", hostPort)
	}
	return p
}

func containerPort(container obj, name string) int {
	for _, p := range list(container, "ports") {
		if str(p, "name") == name {
			return number(get(p, "containerPort"))
		}
	}
	return -1
}

// mountFor returns the volume mounted at the directory holding path.
func mountFor(t *testing.T, pod obj, container obj, path string) obj {
	t.Helper()
	dir := filepath.Dir(path)
	for _, m := range list(container, "volumeMounts") {
		mp := str(m, "mountPath")
		if dir == mp || strings.HasPrefix(dir, mp+"/") {
			for _, v := range list(pod, "volumes") {
				if str(v, "name") == str(m, "name") {
					return v.(obj)
				}
			}
			return obj{"name": str(m, "name")} // a claim template
		}
	}
	t.Fatalf("%s is on no volume mount", path)
	return nil
}

func itemKeyFor(volume obj, source, file string) string {
	for _, it := range list(volume, source, "items") {
		if str(it, "path") == file {
			return str(it, "key")
		}
	}
	return ""
}

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(helmHome)
	os.Exit(code)
}
