package main

// charts/gatehouse/README.md's values tables are what
// @bitnami/readme-generator-for-helm makes of values.yaml's `## @param`
// comments.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// generateReadme runs the generator on copies of values (text) and the
// chart's README.md and returns the README it wrote.
func generateReadme(t *testing.T, values string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"values.yaml": values, "README.md": string(readme)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node(), filepath.Join(chartTools(), "node_modules/@bitnami/readme-generator-for-helm/bin/index.js"),
		"--values", filepath.Join(dir, "values.yaml"), "--readme", filepath.Join(dir, "README.md"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &exec.ExitError{ProcessState: cmd.ProcessState, Stderr: out}
	}
	got, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(got), nil
}

func TestChartReadmeValuesTableIsCurrent(t *testing.T) {
	valuesFile := filepath.Join(chartDir, "values.yaml")
	values, err := os.ReadFile(valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := generateReadme(t, string(values))
	if err != nil {
		t.Fatalf("readme-generator: %v\n%s", err, err.(*exec.ExitError).Stderr)
	}
	if got != string(committed) {
		t.Errorf("charts/gatehouse/README.md is out of date with values.yaml; regenerate it (see the chart README's Values section)")
	}
	// A changed default changes the table, so the check above notices it.
	changed, err := generateReadme(t, strings.Replace(string(values), "\nreplicaCount: 1\n", "\nreplicaCount: 2\n", 1))
	if err != nil || changed == got || !strings.Contains(changed, "| `2`") {
		t.Errorf("a changed default left the table as it was (%v)", err)
	}
	// An undocumented value is refused.
	if _, err := generateReadme(t, string(values)+"\nundocumented: 1\n"); err == nil {
		t.Errorf("the generator accepted a value without a ## @param line")
	}

	// A [default: ...] modifier (used where the value itself would break
	// the table) says what the value is.
	var parsed map[string]interface{}
	if err := yaml.Unmarshal(values, &parsed); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`## @param (\S+) \[default: ([^\]]*)\]`)
	for _, m := range re.FindAllStringSubmatch(string(values), -1) {
		var path []interface{}
		for _, p := range strings.Split(m[1], ".") {
			path = append(path, p)
		}
		if want := strings.ReplaceAll(m[2], `\|`, "|"); str(parsed, path...) != want {
			t.Errorf("%s: [default: %s] but the value is %q", m[1], m[2], str(parsed, path...))
		}
	}
}
