{{/*
The Kubernetes API permissions camops uses, one list per identity. They mirror the
@requires declarations in the code (camops_workers.kube.REQUIRED_PERMISSIONS):
tests/unit/chart/test_rbac.py fails when the code calls something not granted here,
or when this grants something the code does not call.
*/}}

{{/* The operator (kopf's watches, finalizers and status; the children it applies), in the watched namespaces. */}}
{{- define "camops.operatorRules" -}}
- apiGroups: [camops.io]
  resources: [cameras, retentionpolicies]
  verbs: [get, list, watch, patch]
- apiGroups: [camops.io]
  resources: [cameras/status, retentionpolicies/status]
  verbs: [get, patch]
# Children name their Camera as owner with blockOwnerDeletion, which the
# OwnerReferencesPermissionEnforcement admission plugin allows only with this.
- apiGroups: [camops.io]
  resources: [cameras/finalizers, retentionpolicies/finalizers]
  verbs: [update]
# CameraPools: one StatefulSet and assignment ConfigMap each, owned by the pool; the pool
# workers' pod readiness is watched (never polled) for the pool's and its cameras' status.
- apiGroups: [camops.io]
  resources: [camerapools]
  verbs: [get, list, watch, patch]
- apiGroups: [camops.io]
  resources: [camerapools/status]
  verbs: [get, patch]
- apiGroups: [camops.io]
  resources: [camerapools/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, create, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
# A Camera's children: applied, and watched so a hand edit or deletion is put back within seconds.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, create, patch]
- apiGroups: [""]
  resources: [configmaps, persistentvolumeclaims]
  verbs: [get, list, watch, create, patch]
# Read only, one by name: a camera's credentials, handed to MediaMTX for its path.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end }}

{{/* The operator in its own namespace: the ledger of the MediaMTX paths it created (only with MediaMTX). */}}
{{- define "camops.operatorOwnNamespaceRules" -}}
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [camops-mediamtx-paths]
  verbs: [get, patch]
# create cannot be limited to a name.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [create]
{{- end }}

{{/* Capture workers (report status.capture), drain jobs and retention jobs (read Cameras, report to the policy). */}}
{{- define "camops.workloadRules" -}}
- apiGroups: [camops.io]
  resources: [cameras]
  verbs: [list]
- apiGroups: [camops.io]
  resources: [cameras/status]
  verbs: [patch]
- apiGroups: [camops.io]
  resources: [retentionpolicies]
  verbs: [get]
- apiGroups: [camops.io]
  resources: [retentionpolicies/status]
  verbs: [patch]
{{- end }}
