"""owned_fields_drift: a hand edit of a field camops sets is drift; server defaults and others' keys are not."""

from __future__ import annotations

import copy
from typing import Any

from camops_operator.builders.owned import owned_fields_drift
from camops_operator.builders.worker import build_worker_config_map, build_worker_deployment
from tests.unit.operator.factories import camera, settings


def _deployment() -> dict[str, Any]:
    cam, conf = camera(worker={"resources": {"requests": {"cpu": "0.5", "memory": "256Mi"}}}), settings()
    return build_worker_deployment(cam, conf, build_worker_config_map(cam, conf))


def _as_served(desired: dict[str, Any]) -> dict[str, Any]:
    """What an API server returns: defaults added, others' labels and annotations, quantities canonical."""
    live = copy.deepcopy(desired)
    live["metadata"].update(resourceVersion="7", uid="u-dep", generation=3)
    live["metadata"]["labels"]["team"] = "ops"
    live["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    live["metadata"]["ownerReferences"].append({"apiVersion": "v1", "kind": "Thing", "name": "x", "uid": "other"})
    spec = live["spec"]
    spec.update(progressDeadlineSeconds=600)
    pod = spec["template"]["spec"]
    pod.update(dnsPolicy="ClusterFirst", restartPolicy="Always", schedulerName="default-scheduler")
    container = pod["containers"][0]
    container.update(
        terminationMessagePath="/dev/termination-log", resources={"requests": {"cpu": "500m", "memory": "256Mi"}}
    )
    container["startupProbe"].update(timeoutSeconds=1, successThreshold=1)
    live["status"] = {"availableReplicas": 1}
    return live


def test_a_served_object_with_defaults_is_in_sync() -> None:
    desired = _deployment()
    assert owned_fields_drift(desired, _as_served(desired)) == []


def test_hand_edits_of_replicas_image_and_command_are_named() -> None:
    desired = _deployment()
    live = _as_served(desired)
    live["spec"]["replicas"] = 5
    container = live["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "busybox"
    container["command"] = ["sleep", "infinity"]
    assert owned_fields_drift(desired, live) == [
        "spec.replicas",
        "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[0].command",
    ]


def test_added_list_elements_removed_labels_and_lost_owner_are_drift() -> None:
    desired = _deployment()
    live = _as_served(desired)
    live["spec"]["template"]["spec"]["containers"][0]["command"].append("--debug")
    del live["metadata"]["labels"]["camops.io/camera"]
    live["metadata"]["ownerReferences"] = live["metadata"]["ownerReferences"][1:]
    drift = owned_fields_drift(desired, live)
    assert "spec.template.spec.containers[0].command" in drift
    assert "metadata.labels.camops.io/camera" in drift
    assert any(path.startswith("metadata.ownerReferences") for path in drift)


def test_quantities_compare_by_value_and_empty_matches_missing() -> None:
    desired = {"metadata": {}, "spec": {"cpu": "0.5", "memory": "1Gi", "nodeSelector": {}, "x": 2}}
    assert owned_fields_drift(desired, {"spec": {"cpu": "500m", "memory": "1073741824", "x": 2.0}}) == []
    assert owned_fields_drift(desired, {"spec": {"cpu": "600m", "memory": "1Gi", "x": 2}}) == ["spec.cpu"]
    assert owned_fields_drift({"spec": {"flag": True}}, {"spec": {"flag": 1}}) == ["spec.flag"]


def test_config_map_data_is_owned_whole() -> None:
    desired = {"metadata": {"name": "c"}, "data": {"worker.json": "{}"}}
    assert owned_fields_drift(desired, {"metadata": {"name": "c"}, "data": {"worker.json": "{}"}}) == []
    extra = {"metadata": {}, "data": {"worker.json": "{}", "debug": "1"}}
    assert owned_fields_drift(desired, extra) == ["data.debug"]
    assert owned_fields_drift(desired, {"metadata": {}, "data": {"worker.json": "{ }"}}) == ["data.worker.json"]
    assert owned_fields_drift(desired, {"metadata": {}, "data": {}, "binaryData": {"b": "AA=="}}) == [
        "data.worker.json",
        "binaryData",
    ]
