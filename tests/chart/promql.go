package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// PromQL words that are not metric names: binary operators, modifiers,
// grouping keywords, aggregation operators (which may be followed by
// `by (...)` rather than "(") and the special float literals.
var promqlKeywords = map[string]bool{
	"sum": true, "avg": true, "count": true, "min": true, "max": true,
	"group": true, "stddev": true, "stdvar": true, "topk": true,
	"bottomk": true, "quantile": true, "count_values": true,
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "atan2": true,
	"inf": true, "nan": true, "start": true, "end": true,
}

// Keywords followed by a parenthesised list of label names.
var promqlLabelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true,
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// MetricNames returns the metric names an expression selects, sorted and
// without duplicates. It is a tokenizer, not a parser (Prometheus's parser
// is not packaged for Debian; promtool checks the syntax separately): it
// skips strings, label matchers in {...}, ranges in [...], the label lists
// of by/without/on/ignoring/group_left/group_right, numbers and durations,
// Grafana variables ($x, ${x}), keywords, and identifiers followed by "("
// (functions and aggregations). Every other identifier is a metric name.
func MetricNames(expr string) ([]string, error) {
	names := map[string]bool{}
	i := 0
	n := len(expr)
	// skipTo moves past the closing `close` of a bracketed region starting
	// at i (which holds the opening character), honouring strings.
	skipTo := func(close byte) error {
		open := expr[i]
		depth := 0
		for i < n {
			c := expr[i]
			switch {
			case c == '"' || c == '\'' || c == '`':
				if err := skipString(expr, &i); err != nil {
					return err
				}
				continue
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					i++
					return nil
				}
			}
			i++
		}
		return fmt.Errorf("unbalanced %q in %q", open, expr)
	}
	for i < n {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(expr, &i); err != nil {
				return nil, err
			}
		case c == '{':
			if err := skipTo('}'); err != nil {
				return nil, err
			}
		case c == '[':
			if err := skipTo(']'); err != nil {
				return nil, err
			}
		case c == '$':
			i++
			if i < n && expr[i] == '{' {
				if err := skipTo('}'); err != nil {
					return nil, err
				}
				continue
			}
			for i < n && isIdentChar(expr[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			// Numbers (0.99, 1e3, 0x1F) and durations (5m, 1h30m).
			for i < n && (isIdentChar(expr[i]) || expr[i] == '.' ||
				((expr[i] == '+' || expr[i] == '-') && (expr[i-1] == 'e' || expr[i-1] == 'E'))) {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < n && isIdentChar(expr[i]) {
				i++
			}
			word := expr[start:i]
			j := i
			for j < n && (expr[j] == ' ' || expr[j] == '\t' || expr[j] == '\n' || expr[j] == '\r') {
				j++
			}
			followedByParen := j < n && expr[j] == '('
			lower := strings.ToLower(word)
			switch {
			case promqlLabelListKeywords[lower]:
				if followedByParen {
					i = j
					if err := skipTo(')'); err != nil {
						return nil, err
					}
				}
			case promqlKeywords[lower]:
			case followedByParen:
				// A function or aggregation; its arguments are scanned next.
			default:
				names[word] = true
			}
		default:
			i++
		}
	}
	var out []string
	for name := range names {
		out = append(out, name)
	}
	sort.Strings(out)
	return out, nil
}

// skipString moves *i past the string literal starting there.
func skipString(expr string, i *int) error {
	quote := expr[*i]
	j := *i + 1
	for j < len(expr) {
		if expr[j] == '\\' && quote != '`' {
			j += 2
			continue
		}
		if expr[j] == quote {
			*i = j + 1
			return nil
		}
		j++
	}
	return fmt.Errorf("unterminated string in %q", expr)
}

var labelValuesRE = regexp.MustCompile(`^\s*label_values\((.*)\)\s*$`)

// GrafanaQueryExpr returns the PromQL inside a Grafana Prometheus variable
// query: label_values(EXPR, label) gives EXPR, label_values(label) gives
// "", query_result(EXPR) gives EXPR, and anything else is taken as PromQL.
func GrafanaQueryExpr(query string) string {
	if m := labelValuesRE.FindStringSubmatch(query); m != nil {
		args := m[1]
		comma := strings.LastIndex(args, ",")
		if comma < 0 {
			return ""
		}
		return strings.TrimSpace(args[:comma])
	}
	q := strings.TrimSpace(query)
	if strings.HasPrefix(q, "query_result(") && strings.HasSuffix(q, ")") {
		return q[len("query_result(") : len(q)-1]
	}
	return q
}

// grafanaVariableRE matches Grafana's $var and ${var} / ${var:format}.
var grafanaVariableRE = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)

// WithGrafanaVariablesReplaced substitutes Grafana's variables so an
// expression can be given to promtool: interval variables become 5m and
// every other variable ".*" (they only appear in regex matchers).
func WithGrafanaVariablesReplaced(expr string) string {
	return grafanaVariableRE.ReplaceAllStringFunc(expr, func(v string) string {
		name := strings.Trim(v, "${}")
		if strings.HasPrefix(name, "__") && strings.HasSuffix(name, "interval") {
			return "5m"
		}
		if name == "__range" {
			return "1h"
		}
		return ".*"
	})
}
