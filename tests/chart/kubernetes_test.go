package main

// Real Helm's verdicts on the chart (lint --strict, the kubeVersion
// range, package) and every rendered manifest validated against the
// Kubernetes and Prometheus operator schemas (validate_manifests.cjs).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// newestKubeVersion is the newest Kubernetes whose schemas the tools carry
// (kubernetes-models 4.5.1; also the kubectl beside helm). The chart sets
// no upper bound, so this is the newest version it is tested against.
const newestKubeVersion = "1.33.0"

// valueSets are the values files every check runs with: the least a user
// supplies, every optional feature on, and the alert-rule set.
var valueSets = map[string][]string{
	"minimal": {"values-minimal.yaml"},
	"full":    {"values-minimal.yaml", "values-full.yaml"},
	"alerts":  {"values-minimal.yaml", "values-alerts.yaml"},
}

func chartMetadata(t *testing.T) map[string]interface{} {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]interface{}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	return meta
}

// oldestKubeVersion is the lower bound of Chart.yaml's kubeVersion.
func oldestKubeVersion(t *testing.T) string {
	t.Helper()
	kv := str(chartMetadata(t), "kubeVersion")
	m := regexp.MustCompile(`^>=\s*(\d+\.\d+\.\d+)(-0)?$`).FindStringSubmatch(kv)
	if m == nil {
		t.Fatalf("Chart.yaml kubeVersion %q: want \">=X.Y.Z-0\"", kv)
	}
	return m[1]
}

// minor is "1.25" of "1.25.0".
func minor(version string) string {
	parts := strings.SplitN(version, ".", 3)
	return parts[0] + "." + parts[1]
}

func node() string {
	if n := os.Getenv("NODE"); n != "" {
		return n
	}
	return "node"
}

func chartTools() string {
	if d := os.Getenv("CHART_TOOLS"); d != "" {
		return d
	}
	return "../../tools/chart"
}

// manifestSet is one YAML stream to validate at one Kubernetes version.
type manifestSet struct {
	name, kubeVersion, yaml string
}

// validateManifests runs validate_manifests.cjs once on every set (one
// Node.js process: its start-up takes most of the time) and returns each
// set's lines of output, its summary line last.
func validateManifests(t *testing.T, sets []manifestSet) (map[string][]string, error) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"validate_manifests.cjs", "--tools", chartTools()}
	byFile := map[string]string{}
	for i, s := range sets {
		file := filepath.Join(dir, fmt.Sprintf("set%d.yaml", i))
		if err := os.WriteFile(file, []byte(s.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		byFile[file] = s.name
		args = append(args, "--kube-version", minor(s.kubeVersion), file)
	}
	out, err := exec.Command(node(), args...).CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	lines := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		matched := false
		for file, name := range byFile {
			if strings.HasPrefix(line, file) {
				lines[name] = append(lines[name], line)
				matched = true
			}
		}
		if !matched {
			t.Errorf("validate_manifests: %s", line)
		}
	}
	return lines, err
}

// summary is a set's last line of output.
func summary(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

func TestHelmLintStrict(t *testing.T) {
	for name, files := range valueSets {
		args := []string{"lint", "--strict", chartDir}
		for _, f := range files {
			args = append(args, "--values", f)
		}
		if out, err := Helm(args...); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
	// Lint fails, not just warns, on a chart with a broken template.
	broken := copyChart(t)
	if err := os.WriteFile(filepath.Join(broken, "templates", "broken.yaml"), []byte("{{ .Values.nope.nope }}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := Helm("lint", "--strict", broken, "--values", "values-minimal.yaml"); err == nil {
		t.Errorf("lint passed a broken template:\n%s", out)
	}
}

// Every values set renders at the oldest and newest Kubernetes versions,
// keeps its invariants, and every manifest meets those versions' schemas.
func TestRendersValidateAgainstKubernetesSchemas(t *testing.T) {
	oldest := oldestKubeVersion(t)
	if minor(oldest) != "1.25" {
		t.Fatalf("kubeVersion's lower bound is %s: validate_manifests.cjs carries 1.25 schemas (kubernetes-models 4.1.0); change both together", oldest)
	}
	var sets []manifestSet
	for name, files := range valueSets {
		for _, kv := range []string{oldest, newestKubeVersion} {
			r, err := Render(chartDir, release, kv, files...)
			if err != nil {
				t.Fatalf("%s at %s: %v", name, kv, err)
			}
			checkInvariants(t, r)
			sets = append(sets, manifestSet{name + " at " + kv, kv, r.YAML()})
		}
	}
	results, err := validateManifests(t, sets)
	for _, s := range sets {
		got := summary(results[s.name])
		if !strings.HasSuffix(got, " 0 invalid (Kubernetes "+minor(s.kubeVersion)+")") || strings.Contains(got, ": 0 documents") {
			t.Errorf("%s: %v\n%s", s.name, err, strings.Join(results[s.name], "\n"))
		}
	}
	// Below the declared range Helm refuses to render.
	if _, err := Render(chartDir, release, "1.24.17", valueSets["minimal"]...); err == nil ||
		!strings.Contains(err.Error(), "incompatible with Kubernetes v1.24.17") {
		t.Errorf("rendering for 1.24 should fail on kubeVersion, got %v", err)
	}
}

// The validation fails on an unknown field and on a wrong type, in a core
// resource and in each Prometheus operator resource, at both versions.
func TestSchemaValidationRejectsUnknownFieldsAndWrongTypes(t *testing.T) {
	r := render(t, full)
	docs := documents(t, r)
	cases := []struct {
		name  string
		edit  func(docs []obj)
		where string
	}{
		{"unknown container field", func(docs []obj) {
			c := get(one(t, docs, "StatefulSet"), "spec", "template", "spec", "containers", 0).(obj)
			c["imagePullPolice"] = "Always"
		}, `unknown field "imagePullPolice"`},
		{"replicas as a string", func(docs []obj) {
			get(one(t, docs, "StatefulSet"), "spec").(obj)["replicas"] = "3"
		}, "/spec/replicas"},
		{"unknown Service field", func(docs []obj) {
			get(named(docs, "Service", "edge-limiter"), "spec").(obj)["clusterIp"] = "None"
		}, `unknown field "clusterIp"`},
		{"unknown ServiceMonitor field", func(docs []obj) {
			get(one(t, docs, "ServiceMonitor"), "spec", "endpoints", 0).(obj)["scrapeInterval"] = "15s"
		}, `unknown field "scrapeInterval"`},
		{"ServiceMonitor honorLabels as a string", func(docs []obj) {
			get(one(t, docs, "ServiceMonitor"), "spec", "endpoints", 0).(obj)["honorLabels"] = "yes"
		}, "/spec/endpoints/0/honorLabels"},
		{"unknown PrometheusRule field", func(docs []obj) {
			get(one(t, docs, "PrometheusRule"), "spec", "groups", 0).(obj)["evaluationInterval"] = "1m"
		}, `unknown field "evaluationInterval"`},
		{"PrometheusRule rules not a list", func(docs []obj) {
			get(one(t, docs, "PrometheusRule"), "spec", "groups", 0).(obj)["rules"] = "none"
		}, "/spec/groups/0/rules"},
	}
	var sets []manifestSet
	for _, c := range cases {
		var copied []obj
		for _, d := range docs {
			copied = append(copied, deepCopy(t, d))
		}
		c.edit(copied)
		var stream strings.Builder
		for _, d := range copied {
			b, err := yaml.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			stream.WriteString("---\n")
			stream.Write(b)
		}
		for _, kv := range []string{oldestKubeVersion(t), newestKubeVersion} {
			sets = append(sets, manifestSet{c.name + " at " + kv, kv, stream.String()})
		}
	}
	// A kind the schemas do not know is a failure, not a skip.
	sets = append(sets, manifestSet{"unknown kind", newestKubeVersion, "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n"})
	results, err := validateManifests(t, sets)
	if err == nil {
		t.Errorf("validate_manifests exited 0")
	}
	for _, c := range cases {
		for _, kv := range []string{oldestKubeVersion(t), newestKubeVersion} {
			lines := results[c.name+" at "+kv]
			out := strings.Join(lines, "\n")
			if !strings.Contains(out, c.where) || !strings.HasSuffix(summary(lines), " 1 invalid (Kubernetes "+minor(kv)+")") {
				t.Errorf("%s at %s: want exactly one invalid document mentioning %s, got\n%s", c.name, kv, c.where, out)
			}
		}
	}
	if out := strings.Join(results["unknown kind"], "\n"); !strings.Contains(out, "no schema for example.com/v1 Gadget") {
		t.Errorf("unknown kind:\n%s", out)
	}
}

// The chart's version and appVersion are the project's version (CMake's
// project(VERSION), their one source), and `helm package` builds the
// archive, which renders as the chart directory does.
func TestPackage(t *testing.T) {
	meta := chartMetadata(t)
	want := os.Getenv("GATEHOUSE_VERSION")
	if want == "" {
		t.Fatal("GATEHOUSE_VERSION is not set (CMake sets it to the project's version)")
	}
	if str(meta, "version") != want || str(meta, "appVersion") != want {
		t.Errorf("Chart.yaml version %q, appVersion %q: want both %q, the version in CMakeLists.txt's project()",
			str(meta, "version"), str(meta, "appVersion"), want)
	}
	dir := t.TempDir()
	if out, err := Helm("package", chartDir, "--destination", dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	archive := filepath.Join(dir, "gatehouse-"+str(meta, "version")+".tgz")
	if _, err := os.Stat(archive); err != nil {
		t.Fatalf("helm package: %v", err)
	}
	if out, err := Helm("lint", "--strict", archive, "--values", "values-minimal.yaml"); err != nil {
		t.Errorf("lint of the archive: %v\n%s", err, out)
	}
	fromArchive, err := Render(archive, release, "", full...)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fromArchive.YAML(), render(t, full).YAML(); got != want {
		t.Errorf("the archive renders differently from the chart directory")
	}
}

func deepCopy(t *testing.T, d obj) obj {
	t.Helper()
	b, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out obj
	if err := yaml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// copyChart copies the chart directory into a temp dir.
func copyChart(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "gatehouse")
	err := filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(chartDir, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
