{{/* Names and labels shared by the templates. */}}
{{- define "wscp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 40 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "wscp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "wscp.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "wscp.image" -}}
{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{/* The Secret holding the controller's client certificate and the CA the agents trust. */}}
{{- define "wscp.tlsSecret" -}}
{{- if eq .Values.tls.mode "existing" -}}{{ required "tls.existingSecret is required with tls.mode=existing" .Values.tls.existingSecret }}{{- else -}}{{ include "wscp.fullname" . }}-controller-tls{{- end -}}
{{- end -}}

{{/* Cluster-scoped objects: two releases of one name in two namespaces must not collide. */}}
{{- define "wscp.clusterName" -}}
{{ include "wscp.fullname" . }}-{{ .Release.Namespace | trunc 20 | trimSuffix "-" }}
{{- end -}}

{{/* Settings the schema cannot express, refused at render with what to change. */}}
{{- define "wscp.checks" -}}
{{- if eq (int .Values.agent.apiPort) (int .Values.agent.metricsPort) -}}
{{- fail "agent.apiPort and agent.metricsPort must differ" -}}
{{- end -}}
{{- range $name, $store := .Values.agent.stores -}}
{{- if and (hasPrefix "s3://" $store.url) (not $.Values.agent.archiveKeySecret) -}}
{{- fail (printf "agent.stores.%s is an S3 store: set agent.archiveKeySecret (a Secret with the key \"keyring\"), without which anyone who can write to the bucket could swap an archive" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
