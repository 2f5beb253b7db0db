{{/* Chart name, overridable. */}}
{{- define "router-firewall.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Object name: fullnameOverride, else the release name (OSM names releases "<chart>-<10 digits>"), prefixed with
the chart name when the release name does not already contain it.
*/}}
{{- define "router-firewall.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "router-firewall.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "router-firewall.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; the NS id (when osm-l2net injected it) lets "kubectl get all -l osm.etsi.org/ns-id=..." find them. */}}
{{- define "router-firewall.labels" -}}
helm.sh/chart: {{ include "router-firewall.chart" . }}
{{ include "router-firewall.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vod-service
{{- with (.Values.l2net | default dict).nsId }}
osm.etsi.org/ns-id: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "router-firewall.selectorLabels" -}}
app.kubernetes.io/name: {{ include "router-firewall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
