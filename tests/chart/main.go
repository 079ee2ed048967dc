// chartrender prints a chart rendered as `helm template` would:
//
//	chartrender [-name RELEASE] [-namespace NS] [-f values.yaml]... CHART_DIR
//
// The tests in this directory use the same renderer (helm.go).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	name := flag.String("name", "gatehouse", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	var valuesFiles multiFlag
	flag.Var(&valuesFiles, "f", "values file (repeatable; later ones win)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chartrender [-name R] [-namespace NS] [-f values.yaml]... CHART_DIR")
		os.Exit(2)
	}
	chart, err := LoadChart(flag.Arg(0))
	if err == nil {
		var out *Rendered
		out, err = chart.Render(Release{Name: *name, Namespace: *namespace}, valuesFiles...)
		if err == nil {
			fmt.Print(out.YAML())
			fmt.Fprintf(os.Stderr, "NOTES:\n%s\n", out.Notes)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "Error:", err)
	os.Exit(1)
}
