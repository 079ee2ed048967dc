{{/*
The alerting rules, as the `spec` of a PrometheusRule (a Prometheus rule
file). tests/chart renders this, checks it with `promtool check rules` and
runs tests/chart/alerts_test.yaml on it with `promtool test rules`.
Prometheus's own {{ $labels.x }} templates are kept from Helm in raw
strings: {{ `...` | quote }}.
*/}}
{{- define "gatehouse.alertRules" -}}
{{- $sel := include "gatehouse.alertSelector" . }}
{{- $r := .Values.prometheusRule -}}
groups:
  - name: gatehouse
    rules:
      {{- with $r.ceilingHitSurge }}
      {{- if .enabled }}
      - alert: GatehouseCeilingHitSurge
        expr: |-
          sum by (namespace, job, policy) (rate(gatehouse_ceiling_hits_total{ {{- $sel -}} }[5m])) * 60 > {{ .perMinute }}
        for: {{ .for }}
        labels:
          severity: {{ .severity }}
        annotations:
          summary: {{ `Policy {{ $labels.policy }}: many subjects hitting the ceiling` | quote }}
          description: {{ `{{ $value | humanize }} ceiling hits per minute on policy {{ $labels.policy }} in {{ $labels.namespace }}; a credential-stuffing or scraping attack is likely. Check the denials and the audit log for the keys involved.` | quote }}
      {{- end }}
      {{- end }}
      {{- with $r.errorRate }}
      {{- if .enabled }}
      - alert: GatehouseHighErrorRate
        expr: |-
          sum by (namespace, job) (rate(gatehouse_grpc_requests_total{ {{- $sel -}} ,code=~{{ .codes | quote }}}[5m]))
            /
          sum by (namespace, job) (rate(gatehouse_grpc_requests_total{ {{- $sel -}} }[5m]))
            > {{ .ratio }}
        for: {{ .for }}
        labels:
          severity: {{ .severity }}
        annotations:
          summary: "Gatehouse is failing calls"
          description: {{ `{{ $value | humanizePercentage }} of gRPC calls in {{ $labels.namespace }} end in a server error; callers fall back to their fail-open or fail-closed answer.` | quote }}
      {{- end }}
      {{- end }}
      {{- with $r.authFailureSurge }}
      {{- if .enabled }}
      - alert: GatehouseAuthFailureSurge
        expr: |-
          sum by (namespace, job, reason) (rate(gatehouse_auth_failures_total{ {{- $sel -}} }[5m])) * 60 > {{ .perMinute }}
        for: {{ .for }}
        labels:
          severity: {{ .severity }}
        annotations:
          summary: {{ `Many calls to Gatehouse refused: {{ $labels.reason }}` | quote }}
          description: {{ `{{ $value | humanize }} calls per minute in {{ $labels.namespace }} refused with {{ $labels.reason }}: a caller with a revoked or wrong token, or someone probing the service.` | quote }}
      {{- end }}
      {{- end }}
      {{- with $r.targetDown }}
      {{- if .enabled }}
      - alert: GatehouseTargetDown
        expr: |-
          up{ {{- $sel -}} } == 0
        for: {{ .for }}
        labels:
          severity: {{ .severity }}
        annotations:
          summary: "Prometheus cannot scrape a Gatehouse pod"
          description: {{ `{{ $labels.instance }} in {{ $labels.namespace }} has not answered scrapes: the pod is down or its metrics port unreachable.` | quote }}
      {{- end }}
      {{- end }}
      {{- with $r.storageErrors }}
      {{- if .enabled }}
      - alert: GatehouseStorageErrors
        expr: |-
          sum by (namespace, job, instance, operation) (increase(gatehouse_storage_errors_total{ {{- $sel -}} }[5m])) > 0
        for: {{ .for }}
        labels:
          severity: {{ .severity }}
        annotations:
          summary: {{ `Gatehouse storage {{ $labels.operation }}s are failing` | quote }}
          description: {{ `{{ $value | humanize }} failed RocksDB {{ $labels.operation }}s in 5 minutes on {{ $labels.instance }}; calls get UNAVAILABLE. Check the volume (full, read-only) and the pod's log.` | quote }}
      {{- end }}
      {{- end }}
{{- end }}
