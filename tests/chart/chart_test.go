package main

// Renders charts/gatehouse as `helm template` would and checks what a
// reviewer of the manifests would: selectors match, ports and probes agree
// with the server's flags, secrets stay in Secrets, existingSecret and
// existingConfigMap are honoured, the alert rules pass `promtool check
// rules` and the unit tests in alerts_test.yaml, and every PromQL
// expression (rules and dashboard) names only metrics the service exports.
//
// Environment: PROMTOOL (default "promtool") and GATEHOUSE_METRIC_NAMES
// (the gatehouse_metric_names binary; required), set by CMake.

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var minimal = []string{"values-minimal.yaml"}
var full = []string{"values-minimal.yaml", "values-full.yaml"}

func TestDefaultsAloneAskForCredentials(t *testing.T) {
	_, err := tryRender(t, nil)
	if err == nil || !strings.Contains(err.Error(), "auth.credentials.clients is required (or set auth.existingSecret)") {
		t.Fatalf("want the missing-credentials error, got %v", err)
	}
	_, err = tryRender(t, nil, `auth: {credentials: {clients: [{id: a, token_sha256: ["`+strings.Repeat("a", 64)+`"], scopes: [check]}]}}`)
	if err == nil || !strings.Contains(err.Error(), "auth.pseudonymKey is required") {
		t.Fatalf("want the missing-pseudonym-key error, got %v", err)
	}
}

func TestDefaultRender(t *testing.T) {
	r := render(t, minimal)
	checkInvariants(t, r)
	docs := documents(t, r)
	var kinds []string
	for _, d := range docs {
		kinds = append(kinds, fmt.Sprint(d["kind"]))
	}
	sort.Strings(kinds)
	want := []string{"ConfigMap", "ConfigMap", "PodDisruptionBudget", "Secret", "Service", "Service", "Service", "ServiceAccount", "StatefulSet"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	sts := one(t, docs, "StatefulSet")
	c := get(sts, "spec", "template", "spec", "containers", 0)
	flags := serverFlags(c.(obj))
	wantFlags := map[string]string{
		"listen": "0.0.0.0:50051", "metrics_listen": "0.0.0.0:9090",
		"data_dir": "/var/lib/gatehouse/data", "policies": "/etc/gatehouse/policies/policies.yaml",
		"credentials": "/etc/gatehouse/secret/credentials.yaml", "pseudonym_key_file": "/etc/gatehouse/secret/pseudonym-key",
		"shutdown_grace": "20s", "log_level": "info",
	}
	if !reflect.DeepEqual(flags, wantFlags) {
		t.Errorf("flags %v, want %v", flags, wantFlags)
	}
	if got := number(get(sts, "spec", "template", "spec", "terminationGracePeriodSeconds")); got != 35 {
		t.Errorf("terminationGracePeriodSeconds %d, want 5 + 20 + 10", got)
	}
	if str(c, "image") != "gatehouse:0.1.0" {
		t.Errorf("image %q", str(c, "image"))
	}
	if !strings.Contains(r.Notes, "gh-gatehouse.gatehouse.svc:50051") {
		t.Errorf("NOTES.txt does not say where to call:\n%s", r.Notes)
	}
	// The policy file renders integers as integers (Helm reads values as
	// float64; a "2e+01" would not parse as a limit).
	cm := named(docs, "ConfigMap", "gh-gatehouse-policies")
	if !strings.Contains(str(cm, "data", "policies.yaml"), "limit: 20\n") {
		t.Errorf("policy file:\n%s", str(cm, "data", "policies.yaml"))
	}
}

func TestEveryOptionRender(t *testing.T) {
	r := render(t, full)
	checkInvariants(t, r)
	docs := documents(t, r)
	sts := one(t, docs, "StatefulSet")
	pod := get(sts, "spec", "template", "spec")
	c := get(pod, "containers", 0)
	flags := serverFlags(c.(obj))
	for flag, want := range map[string]string{"listen": "[::]:6000", "metrics_listen": "127.0.0.1:9102", "shutdown_grace": "25s", "log_level": "debug", "sync_writes": "", "max_inflight_calls": "1024", "decision_threads": "32", "max_connections": "64", "max_concurrent_streams": "50", "block_cache_mb": "128"} {
		if got, ok := flags[flag]; !ok || got != want {
			t.Errorf("--%s=%q, want %q", flag, got, want)
		}
	}
	checks := []struct {
		what      string
		got, want interface{}
	}{
		{"replicas", number(get(sts, "spec", "replicas")), 3},
		{"image", str(c, "image"), "registry.example.com/security/gatehouse@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"pullPolicy", str(c, "imagePullPolicy"), "Always"},
		{"pull secret", str(pod, "imagePullSecrets", 0, "name"), "regcred"},
		{"service account", str(pod, "serviceAccountName"), "edge-limiter-sa"},
		{"grace", number(get(pod, "terminationGracePeriodSeconds")), 40},
		{"no preStop", get(c, "lifecycle"), nil},
		{"no startup probe", get(c, "startupProbe"), nil},
		{"probe service", str(c, "livenessProbe", "grpc", "service"), "gatehouse.v1.RateLimiter"},
		{"env", str(c, "env", 0, "name"), "TZ"},
		{"cpu limit", str(c, "resources", "limits", "cpu"), "2"},
		{"runAsUser", number(get(pod, "securityContext", "runAsUser")), 20000},
		{"pod label", str(sts, "spec", "template", "metadata", "labels", "team"), "security"},
		{"pod annotation", str(sts, "spec", "template", "metadata", "annotations", "example.com/owner"), "security"},
		{"node selector", str(pod, "nodeSelector", "kubernetes.io/os"), "linux"},
		{"toleration", str(pod, "tolerations", 0, "key"), "dedicated"},
		{"affinity", str(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution", 0, "topologyKey"), "kubernetes.io/hostname"},
		{"spread", str(pod, "topologySpreadConstraints", 0, "topologyKey"), "topology.kubernetes.io/zone"},
		{"priority", str(pod, "priorityClassName"), "high-priority"},
		{"update", number(get(sts, "spec", "updateStrategy", "rollingUpdate", "partition")), 0},
		{"management", str(sts, "spec", "podManagementPolicy"), "Parallel"},
		{"retention", str(sts, "spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"), "Delete"},
		{"storage class", get(sts, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName"), ""},
		{"access mode", str(sts, "spec", "volumeClaimTemplates", 0, "spec", "accessModes", 0), "ReadWriteOncePod"},
		{"claim annotation", str(sts, "spec", "volumeClaimTemplates", 0, "metadata", "annotations", "backup.example.com/enabled"), "true"},
		{"service type", str(named(docs, "Service", "edge-limiter"), "spec", "type"), "LoadBalancer"},
		{"service port", number(get(named(docs, "Service", "edge-limiter"), "spec", "ports", 0, "port")), 443},
		{"service label", str(named(docs, "Service", "edge-limiter"), "metadata", "labels", "exposure"), "internal"},
		{"metrics annotation", str(named(docs, "Service", "edge-limiter-metrics"), "metadata", "annotations", "prometheus.io/scrape"), "true"},
		{"sa annotation", str(one(t, docs, "ServiceAccount"), "metadata", "annotations", "iam.example.com/role"), "none"},
		{"pdb", number(get(one(t, docs, "PodDisruptionBudget"), "spec", "minAvailable")), 2},
		{"pdb max", get(one(t, docs, "PodDisruptionBudget"), "spec", "maxUnavailable"), nil},
		{"grpc peers", str(one(t, docs, "NetworkPolicy"), "spec", "ingress", 0, "from", 0, "podSelector", "matchLabels", "app"), "api-gateway"},
		{"sm namespace", str(one(t, docs, "ServiceMonitor"), "metadata", "namespace"), "monitoring"},
		{"sm label", str(one(t, docs, "ServiceMonitor"), "metadata", "labels", "release"), "kube-prometheus-stack"},
		{"sm interval", str(one(t, docs, "ServiceMonitor"), "spec", "endpoints", 0, "interval"), "15s"},
		{"sm relabel", str(one(t, docs, "ServiceMonitor"), "spec", "endpoints", 0, "relabelings", 0, "targetLabel"), "node"},
		{"sm metric relabel", str(one(t, docs, "ServiceMonitor"), "spec", "endpoints", 0, "metricRelabelings", 0, "action"), "drop"},
		{"rule namespace", str(one(t, docs, "PrometheusRule"), "metadata", "namespace"), "monitoring"},
		{"dashboard namespace", str(named(docs, "ConfigMap", "edge-limiter-dashboard"), "metadata", "namespace"), "grafana"},
		{"dashboard folder", str(named(docs, "ConfigMap", "edge-limiter-dashboard"), "metadata", "annotations", "grafana_folder"), "Security"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s: got %#v, want %#v", ch.what, ch.got, ch.want)
		}
	}
	// Thresholds, severities, the selector and a disabled alert.
	rules := list(one(t, docs, "PrometheusRule"), "spec", "groups", 0, "rules")
	var alerts []string
	for _, rule := range rules {
		alerts = append(alerts, str(rule, "alert"))
		if !strings.Contains(str(rule, "expr"), `job="edge",namespace="security"`) {
			t.Errorf("%s ignores the selector: %s", str(rule, "alert"), str(rule, "expr"))
		}
	}
	if !reflect.DeepEqual(alerts, []string{"GatehouseCeilingHitSurge", "GatehouseHighErrorRate", "GatehouseAuthFailureSurge", "GatehouseStorageErrors"}) {
		t.Errorf("alerts %v (targetDown is disabled)", alerts)
	}
	if e := str(rules[0], "expr"); !strings.HasSuffix(e, "> 120") || str(rules[0], "for") != "10m" || str(rules[0], "labels", "severity") != "page" {
		t.Errorf("ceiling surge rule ignores its values: %v", rules[0])
	}
	if !strings.Contains(str(rules[1], "expr"), `code=~"UNAVAILABLE|INTERNAL"`) {
		t.Errorf("error rate rule ignores codes: %s", str(rules[1], "expr"))
	}
	if !strings.Contains(r.Notes, "WARNING: 3 replicas") {
		t.Errorf("NOTES.txt does not warn about per-pod counters:\n%s", r.Notes)
	}
}

func TestVariants(t *testing.T) {
	cases := map[string]string{
		"no persistence, no pseudonymization": `
persistence: {enabled: false}
auth: {pseudonymization: false, pseudonymKey: ""}
policies: {file: {personal_dimensions: [], policies: [{name: p, dimensions: [ip], limit: 1000000000, window: 1m}]}}`,
		"named storage class and percent budget": `
persistence: {storageClass: fast-ssd}
podDisruptionBudget: {minAvailable: 50%}
serviceAccount: {create: false}`,
		"no probes, no pdb, no dashboard": `
probes: {startup: {enabled: false}, liveness: {enabled: false}, readiness: {enabled: false}}
podDisruptionBudget: {enabled: false}
grafanaDashboard: {enabled: false}`,
	}
	for name, snippet := range cases {
		t.Run(name, func(t *testing.T) {
			r := render(t, minimal, snippet)
			checkInvariants(t, r)
			docs := documents(t, r)
			sts := one(t, docs, "StatefulSet")
			switch name {
			case "no persistence, no pseudonymization":
				if get(sts, "spec", "volumeClaimTemplates") != nil || !strings.Contains(r.Notes, "persistence is disabled") {
					t.Errorf("persistence off still claims a volume or does not warn")
				}
				if !strings.Contains(str(ofKind(docs, "ConfigMap")[1], "data", "policies.yaml"), "limit: 1000000000\n") {
					t.Errorf("large integers must not become 1e+09")
				}
			case "named storage class and percent budget":
				if str(sts, "spec", "volumeClaimTemplates", 0, "spec", "storageClassName") != "fast-ssd" ||
					str(one(t, docs, "PodDisruptionBudget"), "spec", "minAvailable") != "50%" {
					t.Errorf("storage class or budget ignored")
				}
				if len(ofKind(docs, "ServiceAccount")) != 0 || str(sts, "spec", "template", "spec", "serviceAccountName") != "default" {
					t.Errorf("serviceAccount.create: false still creates one")
				}
			case "no probes, no pdb, no dashboard":
				if len(ofKind(docs, "PodDisruptionBudget")) != 0 || len(ofKind(docs, "ConfigMap")) != 1 {
					t.Errorf("disabled resources rendered")
				}
			}
		})
	}
}

func TestValuesAreValidated(t *testing.T) {
	cases := map[string]string{
		`replicaCount: two`:                           "/replicaCount",
		`replicas: 2`:                                 "additional properties 'replicas' not allowed",
		`server: {grpcPort: 70000}`:                   "/server/grpcPort",
		`server: {logLevel: verbose}`:                 "/server/logLevel",
		`server: {maxInflightCalls: -1}`:              "/server/maxInflightCalls",
		`server: {decisionThreads: many}`:             "/server/decisionThreads",
		`server: {maxConcurrentStreams: 0}`:           "/server/maxConcurrentStreams",
		`server: {syncWrites: "yes"}`:                 "/server/syncWrites",
		`auth: {pseudonymKey: short}`:                 "/auth/pseudonymKey",
		`serviceMonitor: {interval: often}`:           "/serviceMonitor/interval",
		`prometheusRule: {errorRate: {ratio: 5}}`:     "/prometheusRule/errorRate/ratio",
		`server: {terminationGracePeriodSeconds: 20}`: "must exceed server.preStopSleepSeconds + server.shutdownGraceSeconds (25)",
		`auth: {credentials: {clients: [{id: x, token_sha256: [abc], scopes: [check]}]}}`: "token_sha256",
	}
	for snippet, want := range cases {
		_, err := tryRender(t, minimal, snippet)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want an error mentioning %q, got %v", snippet, want, err)
		}
	}
}

// The `helm test` hook: a Pod that Peeks through the release's Service with
// a token from the given Secret, for a policy the release has, reachable
// through the NetworkPolicy and never itself behind the Services.
func TestHelmTestHook(t *testing.T) {
	if pods := ofKind(documents(t, render(t, minimal)), "Pod"); len(pods) != 0 {
		t.Errorf("helmTest is off by default, got %d test pods", len(pods))
	}
	_, err := tryRender(t, minimal, `helmTest: {enabled: true}`)
	if err == nil || !strings.Contains(err.Error(), "helmTest.tokenSecret.name is required") {
		t.Errorf("want the missing-token-secret error, got %v", err)
	}

	docs := documents(t, render(t, full))
	pod := one(t, docs, "Pod")
	if str(pod, "metadata", "annotations", "helm.sh/hook") != "test" {
		t.Fatalf("the Pod is not a test hook: %v", get(pod, "metadata", "annotations"))
	}
	c := get(pod, "spec", "containers", 0)
	if cmd := list(c, "command"); len(cmd) != 1 || cmd[0] != "/usr/local/bin/gatehousectl" {
		t.Errorf("command %v", cmd)
	}
	args := list(c, "args")
	if len(args) == 0 || args[0] != "peek" {
		t.Fatalf("args %v: want a peek", args)
	}
	flags := serverFlags(obj{"args": args[1:]})
	svc := named(docs, "Service", "edge-limiter")
	wantAddr := fmt.Sprintf("%s.%s.svc:%d", str(svc, "metadata", "name"), release.Namespace, number(get(svc, "spec", "ports", 0, "port")))
	if flags["addr"] != wantAddr {
		t.Errorf("--addr=%s, want the release's Service %s", flags["addr"], wantAddr)
	}
	// The default policy is one of the chart's default policies (the
	// every-option values bring their own ConfigMap).
	def := documents(t, render(t, minimal, `helmTest: {enabled: true, tokenSecret: {name: t}}`))
	defFlags := serverFlags(obj{"args": list(one(t, def, "Pod"), "spec", "containers", 0, "args")[1:]})
	var policies struct {
		Policies []struct{ Name string } `yaml:"policies"`
	}
	cm := named(def, "ConfigMap", "gh-gatehouse-policies")
	if err := yaml.Unmarshal([]byte(str(cm, "data", "policies.yaml")), &policies); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range policies.Policies {
		found = found || p.Name == defFlags["policy"]
	}
	if !found {
		t.Errorf("--policy=%s is not in the default policies %v", defFlags["policy"], policies.Policies)
	}
	if flags["policy"] != "login_ip" || flags["key"] != "ip=192.0.2.1" || flags["deadline"] != "5s" {
		t.Errorf("--policy=%s --key=%s --deadline=%s", flags["policy"], flags["key"], flags["deadline"])
	}
	volume := mountFor(t, get(pod, "spec").(obj), c.(obj), flags["token_file"])
	if str(volume, "secret", "secretName") != "edge-limiter-test-token" ||
		itemKeyFor(volume, "secret", filepath.Base(flags["token_file"])) != "peek-token" {
		t.Errorf("--token_file=%s is not the token Secret's key: %v", flags["token_file"], volume)
	}
	podLabels := stringMap(get(pod, "metadata", "labels"))
	for _, s := range ofKind(docs, "Service") {
		if subset(stringMap(get(s, "spec", "selector")), podLabels) {
			t.Errorf("Service %s selects the test pod", str(s, "metadata", "name"))
		}
	}
	admitted := false
	for _, from := range list(one(t, docs, "NetworkPolicy"), "spec", "ingress", 0, "from") {
		admitted = admitted || subset(stringMap(get(from, "podSelector", "matchLabels")), podLabels)
	}
	if !admitted {
		t.Errorf("the NetworkPolicy does not admit the test pod to gRPC")
	}
}
