{{/* Names, labels and the settings shared by several templates. */}}

{{- define "camops.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "camops.fullname" -}}
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

{{- define "camops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "camops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: camops
{{- end }}

{{- define "camops.operatorSelector" -}}
app.kubernetes.io/name: {{ include "camops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "camops.mediamtxSelector" -}}
app.kubernetes.io/name: {{ include "camops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: mediamtx
{{- end }}

{{- define "camops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "camops.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* image: repository[:tag][@digest] */}}
{{- define "camops.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "camops.workerImage" -}}
{{- if or .Values.workers.image.repository .Values.workers.image.tag }}
{{- $repo := default .Values.image.repository .Values.workers.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.workers.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- else }}
{{- include "camops.image" . }}
{{- end }}
{{- end }}

{{/* The namespaces where workers run and get their ServiceAccount (JSON list). */}}
{{- define "camops.workerNamespaces" -}}
{{- if .Values.workers.namespaces }}
{{- toJson (uniq .Values.workers.namespaces) }}
{{- else }}
{{- toJson (uniq .Values.watchNamespaces) }}
{{- end }}
{{- end }}

{{- define "camops.mediamtxName" -}}
{{- printf "%s-mediamtx" (include "camops.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "camops.mediamtxSecretName" -}}
{{- if .Values.mediamtx.api.existingSecret }}
{{- .Values.mediamtx.api.existingSecret }}
{{- else }}
{{- printf "%s-mediamtx-api" (include "camops.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Whether the operator talks to a MediaMTX at all ("true" or ""). */}}
{{- define "camops.mediamtxInUse" -}}
{{- if or .Values.mediamtx.enabled .Values.mediamtx.apiUrl }}true{{ end }}
{{- end }}

{{- define "camops.mediamtxApiUrl" -}}
{{- if .Values.mediamtx.enabled }}
{{- printf "http://%s-internal.%s.svc:9997" (include "camops.mediamtxName" .) .Release.Namespace }}
{{- else }}
{{- .Values.mediamtx.apiUrl }}
{{- end }}
{{- end }}

{{- define "camops.mediamtxRtspUrl" -}}
{{- if .Values.mediamtx.rtspUrl }}
{{- .Values.mediamtx.rtspUrl }}
{{- else if .Values.mediamtx.enabled }}
{{- printf "rtsp://%s.%s.svc:8554" (include "camops.mediamtxName" .) .Release.Namespace }}
{{- end }}
{{- end }}
