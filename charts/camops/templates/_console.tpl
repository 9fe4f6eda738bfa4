{{/* The web console (camops console): names and the API permissions of its ServiceAccount. */}}

{{- define "camops.consoleName" -}}
{{ include "camops.fullname" . }}-console
{{- end }}

{{- define "camops.consoleSelector" -}}
app.kubernetes.io/name: {{ include "camops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: console
{{- end }}

{{/* Mirrors the @requires declarations of camops_operator.console (checked by tests/unit/chart/test_rbac.py):
follow every Camera with one watch, ask the API server who a token is and whether it may get a camera. */}}
{{- define "camops.consoleRules" -}}
- apiGroups: [camops.io]
  resources: [cameras]
  verbs: [list, watch]
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
{{- end }}
