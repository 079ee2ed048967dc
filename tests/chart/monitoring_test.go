package main

// The alert rules and the dashboard: promtool, and metric names checked
// against what the service exports.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func promtool() string {
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	return "promtool"
}

func runPromtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(promtool(), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeRules renders with the given snippets over minimal + alerts values
// and writes the PrometheusRule's spec, a Prometheus rule file, into a new
// directory together with alerts_test.yaml.
func writeRules(t *testing.T, snippets ...string) string {
	t.Helper()
	r := render(t, []string{"values-minimal.yaml", "values-alerts.yaml"}, snippets...)
	spec := get(one(t, documents(t, r), "PrometheusRule"), "spec")
	rules, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests, err := os.ReadFile("alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"gatehouse-rules.yaml": rules, "alerts_test.yaml": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAlertRulesPassPromtoolChecksAndUnitTests(t *testing.T) {
	dir := writeRules(t)
	if out, err := runPromtool(t, dir, "check", "rules", "gatehouse-rules.yaml"); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := runPromtool(t, dir, "test", "rules", "alerts_test.yaml"); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	// The every-option render's rules are valid too.
	r := render(t, full)
	spec, err := yaml.Marshal(get(one(t, documents(t, r), "PrometheusRule"), "spec"))
	if err != nil {
		t.Fatal(err)
	}
	fullDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(fullDir, "rules.yaml"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runPromtool(t, fullDir, "check", "rules", "rules.yaml"); err != nil {
		t.Fatalf("promtool check rules (every option): %v\n%s", err, out)
	}
}

// The unit tests can fail: with a threshold above the test traffic, the
// ceiling-hit alert the tests expect no longer fires.
func TestAlertUnitTestsNoticeAChangedThreshold(t *testing.T) {
	dir := writeRules(t, `prometheusRule: {ceilingHitSurge: {perMinute: 1000}}`)
	out, err := runPromtool(t, dir, "test", "rules", "alerts_test.yaml")
	if err == nil || !strings.Contains(out, "GatehouseCeilingHitSurge") {
		t.Fatalf("promtool test rules passed on a wrong threshold:\n%s", out)
	}
}

// exportedNames runs gatehouse_metric_names: what the service exports.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	bin := os.Getenv("GATEHOUSE_METRIC_NAMES")
	if bin == "" {
		t.Fatal("GATEHOUSE_METRIC_NAMES is not set (run through ctest)")
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	names := map[string]bool{"up": true} // synthetic, per scrape target
	for _, n := range strings.Fields(string(out)) {
		names[n] = true
	}
	if !names["gatehouse_decisions_total"] {
		t.Fatalf("%s printed no Gatehouse metric:\n%s", bin, out)
	}
	return names
}

// unknownMetrics returns "where: name" for every metric an expression
// names that is not exported.
func unknownMetrics(t *testing.T, where, expr string, exported map[string]bool) []string {
	t.Helper()
	names, err := MetricNames(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if expr != "" && len(names) == 0 {
		t.Errorf("%s: %q names no metric", where, expr)
	}
	var unknown []string
	for _, n := range names {
		if !exported[n] {
			unknown = append(unknown, where+": "+n)
		}
	}
	return unknown
}

type dashboardExpr struct{ where, expr string }

func dashboardExprs(t *testing.T) []dashboardExpr {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "files/dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Type  string
				Query interface{}
			}
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	var out []dashboardExpr
	for _, p := range d.Panels {
		for _, target := range p.Targets {
			out = append(out, dashboardExpr{"panel " + p.Title, target.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]interface{}); ok {
			q, _ = m["query"].(string)
		}
		if e := GrafanaQueryExpr(q); e != "" {
			out = append(out, dashboardExpr{"variable " + v.Name, e})
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d expressions found in the dashboard", len(out))
	}
	return out
}

func TestDashboardAndRulesNameOnlyExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	var unknown []string
	used := map[string]bool{}
	for _, e := range dashboardExprs(t) {
		unknown = append(unknown, unknownMetrics(t, e.where, e.expr, exported)...)
		names, _ := MetricNames(e.expr)
		for _, n := range names {
			used[n] = true
		}
	}
	r := render(t, []string{"values-minimal.yaml", "values-alerts.yaml"})
	for _, rule := range list(one(t, documents(t, r), "PrometheusRule"), "spec", "groups", 0, "rules") {
		unknown = append(unknown, unknownMetrics(t, "alert "+str(rule, "alert"), str(rule, "expr"), exported)...)
	}
	if len(unknown) > 0 {
		t.Errorf("metrics the service does not export:\n%s", strings.Join(unknown, "\n"))
	}
	// The dashboard covers what the issue asks for.
	for _, n := range []string{"gatehouse_decisions_total", "gatehouse_ceiling_hits_total",
		"gatehouse_grpc_request_duration_seconds_bucket", "gatehouse_grpc_requests_total",
		"gatehouse_audit_consumer_lag_events"} {
		if !used[n] {
			t.Errorf("the dashboard does not show %s", n)
		}
	}
	// ...and the check can fail.
	if got := unknownMetrics(t, "probe", `sum(rate(gatehouse_decisions{policy="x"}[5m]))`, exported); len(got) != 1 {
		t.Errorf("a misspelt metric went unnoticed: %v", got)
	}
}

// Every dashboard expression is valid PromQL to Prometheus's own parser:
// promtool checks them as recording rules, Grafana variables substituted.
func TestDashboardExpressionsParse(t *testing.T) {
	var rules []obj
	for i, e := range dashboardExprs(t) {
		rules = append(rules, obj{"record": fmt.Sprintf("dashboard:expr_%d", i), "expr": WithGrafanaVariablesReplaced(e.expr)})
	}
	data, _ := yaml.Marshal(obj{"groups": []obj{{"name": "dashboard", "rules": rules}}})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard-rules.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runPromtool(t, dir, "check", "rules", "dashboard-rules.yaml"); err != nil {
		t.Fatalf("promtool check rules on the dashboard's expressions: %v\n%s\n%s", err, out, data)
	}
}
