{{/* The chart name, or nameOverride. */}}
{{- define "gatehouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base name of every resource: fullnameOverride, or RELEASE-NAME, or just
RELEASE when it already contains the chart name. 63 characters at most (a
DNS label); derived names cut it shorter to keep their suffix.
*/}}
{{- define "gatehouse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "gatehouse.headlessServiceName" -}}
{{- printf "%s-headless" (include "gatehouse.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "gatehouse.metricsServiceName" -}}
{{- printf "%s-metrics" (include "gatehouse.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{- define "gatehouse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "gatehouse.labels" -}}
helm.sh/chart: {{ include "gatehouse.chart" . }}
{{ include "gatehouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gatehouse
{{- end }}

{{/* The labels selectors use: fixed for the life of a release. */}}
{{- define "gatehouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gatehouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gatehouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gatehouse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the credentials file and the pseudonym key. */}}
{{- define "gatehouse.secretName" -}}
{{- .Values.auth.existingSecret | default (include "gatehouse.fullname" .) }}
{{- end }}

{{/* The ConfigMap holding the policy file. */}}
{{- define "gatehouse.policiesConfigMapName" -}}
{{- .Values.policies.existingConfigMap | default (printf "%s-policies" (include "gatehouse.fullname" . | trunc 54 | trimSuffix "-")) }}
{{- end }}

{{- define "gatehouse.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Seconds Kubernetes waits after the preStop hook starts before SIGKILL: the
preStop sleep, the server's own --shutdown_grace, and 10 s to flush and exit.
An explicit value must leave at least that much.
*/}}
{{- define "gatehouse.terminationGracePeriodSeconds" -}}
{{- $needed := add .Values.server.preStopSleepSeconds .Values.server.shutdownGraceSeconds 1 }}
{{- $value := .Values.server.terminationGracePeriodSeconds | default (add $needed 9) }}
{{- if lt (int $value) (int $needed) }}
{{- fail (printf "server.terminationGracePeriodSeconds (%d) must exceed server.preStopSleepSeconds + server.shutdownGraceSeconds (%d)" (int $value) (sub $needed 1)) }}
{{- end }}
{{- int $value }}
{{- end }}

{{/*
The PromQL label matchers that pick this release's series: by default the
job and namespace a ServiceMonitor scrape of the metrics Service gives them.
*/}}
{{- define "gatehouse.alertSelector" -}}
{{- .Values.prometheusRule.selector | default (printf "job=%q,namespace=%q" (include "gatehouse.metricsServiceName" .) .Release.Namespace) }}
{{- end }}

{{/*
Labels of the `helm test` Pod: not the selector labels, so the Services
never send it calls.
*/}}
{{- define "gatehouse.testLabels" -}}
helm.sh/chart: {{ include "gatehouse.chart" . }}
app.kubernetes.io/name: {{ printf "%s-test" (include "gatehouse.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gatehouse
{{- end }}
