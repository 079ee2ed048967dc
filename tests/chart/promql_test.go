package main

import (
	"reflect"
	"testing"
)

func TestMetricNamesFindsSelectorsAndSkipsEverythingElse(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`up{job="a"} == 0`, []string{"up"}},
		{`sum by (policy, decision) (rate(gatehouse_decisions_total{policy=~"$policy"}[$__rate_interval]))`,
			[]string{"gatehouse_decisions_total"}},
		{`histogram_quantile(0.99, sum by (le, method) (rate(a_bucket{x="sum(b)"}[5m])))`,
			[]string{"a_bucket"}},
		{`sum(rate(x_total[5m])) without (instance) / on (job) group_left (version) y_info`,
			[]string{"x_total", "y_info"}},
		{`a > bool 1e3 and b offset 1h30m or c unless d`, []string{"a", "b", "c", "d"}},
		{`rate(a[5m:30s]) @ start()`, []string{"a"}},
		{"time() - max by (kind)\n  (gatehouse_config_last_reload_success_timestamp_seconds)",
			[]string{"gatehouse_config_last_reload_success_timestamp_seconds"}},
		{`sum(a{code=~"UNKNOWN|INTERNAL"}) / sum(a) > 0.05`, []string{"a"}},
		{`label_replace(up, "dst", "$1", "src", "(.*)")`, []string{"up"}},
		{`vector(1) * Inf + NaN`, nil},
		{`abc:rate5m{l='v\'x'}`, []string{"abc:rate5m"}},
		{`count_values("version", build_info) by (version)`, []string{"build_info"}},
	}
	for _, c := range cases {
		got, err := MetricNames(c.expr)
		if err != nil {
			t.Errorf("MetricNames(%q): %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("MetricNames(%q) = %v, want %v", c.expr, got, c.want)
		}
	}
}

func TestMetricNamesRejectsUnbalancedInput(t *testing.T) {
	for _, expr := range []string{`a{x="1"`, `rate(a[5m)`, `a{x="1}`} {
		if _, err := MetricNames(expr); err == nil {
			t.Errorf("MetricNames(%q) succeeded", expr)
		}
	}
}

func TestGrafanaQueryExpr(t *testing.T) {
	cases := map[string]string{
		`label_values(gatehouse_build_info, namespace)`:                      `gatehouse_build_info`,
		`label_values(a{namespace=~"$namespace", x="1"}, job)`:               `a{namespace=~"$namespace", x="1"}`,
		`label_values(namespace)`:                                            ``,
		`query_result(topk(5, sum by (policy) (gatehouse_decisions_total)))`: `topk(5, sum by (policy) (gatehouse_decisions_total))`,
	}
	for query, want := range cases {
		if got := GrafanaQueryExpr(query); got != want {
			t.Errorf("GrafanaQueryExpr(%q) = %q, want %q", query, got, want)
		}
	}
}

func TestWithGrafanaVariablesReplaced(t *testing.T) {
	got := WithGrafanaVariablesReplaced(`rate(a{ns=~"$namespace",p=~"${policy:regex}"}[$__rate_interval])`)
	want := `rate(a{ns=~".*",p=~".*"}[5m])`
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
