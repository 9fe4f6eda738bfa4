{{/*
The API permissions camops uses, one list per identity. Each rule mirrors the
@requires declarations in the code (camops_workers.kube.REQUIRED_PERMISSIONS);
tests/unit/chart checks every declared permission is granted here and nothing more.
*/}}

{{/* The operator, in the namespaces it watches. */}}
{{- define "camops.operatorRules" -}}
- apiGroups: [camops.io]
  resources: [cameras, retentionpolicies]
  verbs: [get, list, watch, patch, update]
- apiGroups: [camops.io]
  resources: [cameras/status, retentionpolicies/status]
  verbs: [get, patch, update]
- apiGroups: [camops.io]
  resources: [cameras/finalizers, retentionpolicies/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [configmaps, persistentvolumeclaims]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* The operator, cluster-scoped resources (kopf's discovery of its resources and namespaces). */}}
{{- define "camops.operatorClusterRules" -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [namespaces]
  verbs: [list, watch]
{{- end }}

{{/* Capture workers (report status.capture), drain jobs and retention jobs (read Cameras, report to the policy). */}}
{{- define "camops.workloadRules" -}}
- apiGroups: [camops.io]
  resources: [cameras]
  verbs: [get, list]
- apiGroups: [camops.io]
  resources: [cameras/status]
  verbs: [get, patch]
- apiGroups: [camops.io]
  resources: [retentionpolicies]
  verbs: [get]
- apiGroups: [camops.io]
  resources: [retentionpolicies/status]
  verbs: [get, patch]
{{- end }}
