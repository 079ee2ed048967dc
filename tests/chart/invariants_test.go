package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// checkInvariants holds for every render of the chart.
func checkInvariants(t *testing.T, r *Rendered) {
	t.Helper()
	docs := documents(t, r)
	values := r.Values
	dnsLabel := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	for _, d := range docs {
		name := str(d, "metadata", "name")
		if d["apiVersion"] == nil || d["kind"] == nil || name == "" {
			t.Errorf("document without apiVersion, kind or name: %v", d)
		}
		if len(name) > 63 || !dnsLabel.MatchString(name) {
			t.Errorf("%s %q is not a DNS label", d["kind"], name)
		}
		for k, v := range stringMap(get(d, "metadata", "labels")) {
			if len(v) > 63 {
				t.Errorf("%s %s: label %s too long", d["kind"], name, k)
			}
		}
	}

	sts := one(t, docs, "StatefulSet")
	pod := get(sts, "spec", "template", "spec").(obj)
	podLabels := stringMap(get(sts, "spec", "template", "metadata", "labels"))
	if !subset(stringMap(get(sts, "spec", "selector", "matchLabels")), podLabels) {
		t.Errorf("StatefulSet selector does not match its pod labels")
	}
	containers := list(pod, "containers")
	if len(containers) != 1 {
		t.Fatalf("want one container, got %d", len(containers))
	}
	c := containers[0].(obj)
	flags := serverFlags(c)
	grpcPort := containerPort(c, "grpc")
	metricsPort := containerPort(c, "metrics")

	// Ports and probes agree with the flags.
	if got := portOf(t, flags["listen"]); got != grpcPort {
		t.Errorf("--listen port %d, container grpc port %d", got, grpcPort)
	}
	if got := portOf(t, flags["metrics_listen"]); got != metricsPort {
		t.Errorf("--metrics_listen port %d, container metrics port %d", got, metricsPort)
	}
	for f, bind := range map[string]string{"listen": str(values, "server", "bindAddress"), "metrics_listen": str(values, "metrics", "bindAddress")} {
		if !strings.HasPrefix(flags[f], bind+":") {
			t.Errorf("--%s=%s does not bind %s", f, flags[f], bind)
		}
	}
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		enabled := get(values, "probes", strings.TrimSuffix(probe, "Probe"), "enabled") == true
		p := get(c, probe)
		if enabled != (p != nil) {
			t.Errorf("%s rendered=%v, enabled=%v", probe, p != nil, enabled)
		}
		if p != nil && number(get(p, "grpc", "port")) != grpcPort {
			t.Errorf("%s probes port %v, server listens on %d", probe, get(p, "grpc", "port"), grpcPort)
		}
	}

	// The pod outlives its shutdown grace.
	grace, err := strconv.Atoi(strings.TrimSuffix(flags["shutdown_grace"], "s"))
	if err != nil {
		t.Fatalf("--shutdown_grace=%q", flags["shutdown_grace"])
	}
	preStop := 0
	if cmd := list(c, "lifecycle", "preStop", "exec", "command"); len(cmd) == 2 {
		preStop, _ = strconv.Atoi(fmt.Sprint(cmd[1]))
	}
	if tgps := number(get(pod, "terminationGracePeriodSeconds")); tgps <= preStop+grace {
		t.Errorf("terminationGracePeriodSeconds %d <= preStop %d + shutdown_grace %d", tgps, preStop, grace)
	}

	// Non-root, read-only root filesystem, nothing to escalate.
	if get(pod, "securityContext", "runAsNonRoot") != true || number(get(pod, "securityContext", "runAsUser")) == 0 {
		t.Errorf("pod may run as root: %v", get(pod, "securityContext"))
	}
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
		!reflect.DeepEqual(list(sc, "capabilities", "drop"), []interface{}{"ALL"}) {
		t.Errorf("container securityContext too loose: %v", sc)
	}

	// Config and secrets are whole-volume mounts so updates propagate.
	for _, m := range list(c, "volumeMounts") {
		if get(m, "subPath") != nil || get(m, "subPathExpr") != nil {
			t.Errorf("volume mount %s uses subPath: updates would not reach the pod", str(m, "name"))
		}
	}

	// --policies comes from the policies ConfigMap.
	policiesVolume := mountFor(t, pod, c, flags["policies"])
	cmName := str(policiesVolume, "configMap", "name")
	cmKey := itemKeyFor(policiesVolume, "configMap", filepath.Base(flags["policies"]))
	if cmKey != str(values, "policies", "key") {
		t.Errorf("--policies maps to ConfigMap key %q, values say %q", cmKey, str(values, "policies", "key"))
	}
	if existing := str(values, "policies", "existingConfigMap"); existing != "" {
		if cmName != existing {
			t.Errorf("policies volume uses %q, not existingConfigMap %q", cmName, existing)
		}
		if named(docs, "ConfigMap", existing) != nil {
			t.Errorf("ConfigMap %s rendered although it exists", existing)
		}
	} else {
		cm := named(docs, "ConfigMap", cmName)
		if cm == nil {
			t.Fatalf("policies ConfigMap %s not rendered", cmName)
		}
		var file obj
		if err := yaml.Unmarshal([]byte(str(cm, "data", cmKey)), &file); err != nil || len(list(file, "policies")) == 0 {
			t.Errorf("ConfigMap %s key %s is not a policy file (%v):\n%s", cmName, cmKey, err, str(cm, "data", cmKey))
		}
	}

	// --credentials and --pseudonym_key_file come from the Secret.
	secretVolume := mountFor(t, pod, c, flags["credentials"])
	secretName := str(secretVolume, "secret", "secretName")
	credKey := itemKeyFor(secretVolume, "secret", filepath.Base(flags["credentials"]))
	if credKey != str(values, "auth", "credentialsKey") {
		t.Errorf("--credentials maps to Secret key %q, values say %q", credKey, str(values, "auth", "credentialsKey"))
	}
	pseudonymized := get(values, "auth", "pseudonymization") == true
	if _, ok := flags["pseudonym_key_file"]; ok != pseudonymized {
		t.Errorf("--pseudonym_key_file passed=%v, pseudonymization=%v", ok, pseudonymized)
	}
	var keyKey string
	if pseudonymized {
		if v := mountFor(t, pod, c, flags["pseudonym_key_file"]); str(v, "secret", "secretName") != secretName {
			t.Errorf("pseudonym key not in Secret %s", secretName)
		}
		keyKey = itemKeyFor(secretVolume, "secret", filepath.Base(flags["pseudonym_key_file"]))
		if keyKey != str(values, "auth", "pseudonymKeyKey") {
			t.Errorf("--pseudonym_key_file maps to key %q, values say %q", keyKey, str(values, "auth", "pseudonymKeyKey"))
		}
	}
	if existing := str(values, "auth", "existingSecret"); existing != "" {
		if secretName != existing {
			t.Errorf("secret volume uses %q, not existingSecret %q", secretName, existing)
		}
		if len(ofKind(docs, "Secret")) != 0 {
			t.Errorf("a Secret is rendered although existingSecret is set")
		}
	} else {
		secret := named(docs, "Secret", secretName)
		if secret == nil {
			t.Fatalf("Secret %s not rendered", secretName)
		}
		creds, err := base64.StdEncoding.DecodeString(str(secret, "data", credKey))
		var parsed obj
		if err != nil || yaml.Unmarshal(creds, &parsed) != nil || len(list(parsed, "clients")) == 0 {
			t.Errorf("Secret key %s is not a credentials file: %q", credKey, creds)
		}
		if pseudonymized {
			key, _ := base64.StdEncoding.DecodeString(str(secret, "data", keyKey))
			if string(key) != str(values, "auth", "pseudonymKey") {
				t.Errorf("Secret key %s holds %q", keyKey, key)
			}
		}
	}

	// No secret value outside a Secret (a ConfigMap, the notes, anything).
	secrets := []string{str(values, "auth", "pseudonymKey")}
	for _, client := range list(values, "auth", "credentials", "clients") {
		for _, h := range list(client, "token_sha256") {
			secrets = append(secrets, fmt.Sprint(h))
		}
	}
	for _, d := range docs {
		if d["kind"] == "Secret" {
			continue
		}
		text, _ := yaml.Marshal(d)
		for _, s := range secrets {
			if s != "" && strings.Contains(string(text), s) {
				t.Errorf("%s %s contains a secret value", d["kind"], str(d, "metadata", "name"))
			}
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(r.Notes, s) {
			t.Errorf("NOTES.txt contains a secret value")
		}
	}

	// --data_dir is on the data volume: a claim template or, without
	// persistence, an emptyDir.
	dataVolume := mountFor(t, pod, c, flags["data_dir"]+"/x")
	if get(values, "persistence", "enabled") == true {
		var claims []string
		for _, ct := range list(sts, "spec", "volumeClaimTemplates") {
			claims = append(claims, str(ct, "metadata", "name"))
			if str(ct, "spec", "resources", "requests", "storage") != str(values, "persistence", "size") {
				t.Errorf("claim size %q, values say %q", str(ct, "spec", "resources", "requests", "storage"), str(values, "persistence", "size"))
			}
		}
		if !reflect.DeepEqual(claims, []string{str(dataVolume, "name")}) {
			t.Errorf("--data_dir on volume %q, claim templates %v", str(dataVolume, "name"), claims)
		}
	} else if get(dataVolume, "emptyDir") == nil {
		t.Errorf("without persistence --data_dir should be an emptyDir, is %v", dataVolume)
	}

	// Every Service selects the pods and targets a real container port.
	for _, svc := range ofKind(docs, "Service") {
		if !subset(stringMap(get(svc, "spec", "selector")), podLabels) {
			t.Errorf("Service %s selects no pod", str(svc, "metadata", "name"))
		}
		for _, p := range list(svc, "spec", "ports") {
			if containerPort(c, str(p, "targetPort")) < 0 {
				t.Errorf("Service %s targets unknown port %v", str(svc, "metadata", "name"), get(p, "targetPort"))
			}
		}
	}
	headless := named(docs, "Service", str(sts, "spec", "serviceName"))
	if headless == nil || str(headless, "spec", "clusterIP") != "None" {
		t.Errorf("StatefulSet serviceName %q is not a headless Service", str(sts, "spec", "serviceName"))
	}
	if pdb := ofKind(docs, "PodDisruptionBudget"); len(pdb) == 1 {
		if !subset(stringMap(get(pdb[0], "spec", "selector", "matchLabels")), podLabels) {
			t.Errorf("PodDisruptionBudget selects no pod")
		}
	}
	for _, np := range ofKind(docs, "NetworkPolicy") {
		if !subset(stringMap(get(np, "spec", "podSelector", "matchLabels")), podLabels) {
			t.Errorf("NetworkPolicy selects no pod")
		}
		for _, rule := range list(np, "spec", "ingress") {
			for _, p := range list(rule, "ports") {
				if containerPort(c, str(p, "port")) < 0 {
					t.Errorf("NetworkPolicy admits unknown port %v", get(p, "port"))
				}
			}
		}
	}

	// The ServiceMonitor scrapes the metrics Service's /metrics port only.
	for _, sm := range ofKind(docs, "ServiceMonitor") {
		selector := stringMap(get(sm, "spec", "selector", "matchLabels"))
		var matched []obj
		for _, svc := range ofKind(docs, "Service") {
			if subset(selector, stringMap(get(svc, "metadata", "labels"))) {
				matched = append(matched, svc)
			}
		}
		if len(matched) != 1 {
			t.Fatalf("ServiceMonitor selects %d Services, want the metrics one", len(matched))
		}
		endpoint := get(sm, "spec", "endpoints", 0)
		if str(endpoint, "path") != "/metrics" || str(matched[0], "spec", "ports", 0, "name") != str(endpoint, "port") ||
			str(matched[0], "spec", "ports", 0, "targetPort") != "metrics" {
			t.Errorf("ServiceMonitor endpoint %v does not reach the metrics port", endpoint)
		}
		if !reflect.DeepEqual(list(sm, "spec", "namespaceSelector", "matchNames"), []interface{}{release.Namespace}) {
			t.Errorf("ServiceMonitor looks in %v", get(sm, "spec", "namespaceSelector"))
		}
	}

	// The dashboard ConfigMap carries the sidecar label and the JSON file.
	for _, cm := range ofKind(docs, "ConfigMap") {
		if !strings.HasSuffix(str(cm, "metadata", "name"), "-dashboard") {
			continue
		}
		if stringMap(get(cm, "metadata", "labels"))["grafana_dashboard"] != "1" {
			t.Errorf("dashboard ConfigMap lacks grafana_dashboard: \"1\"")
		}
		file, _ := os.ReadFile(filepath.Join(chartDir, "files/dashboard.json"))
		if strings.TrimSpace(str(cm, "data", "gatehouse.json")) != strings.TrimSpace(string(file)) {
			t.Errorf("dashboard ConfigMap differs from files/dashboard.json")
		}
	}
}
