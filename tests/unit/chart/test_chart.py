"""The Helm chart renders, lints strictly, rejects bad values and produces valid Kubernetes objects.

Rendering and linting use the real Helm library (helm-python-sdk bundles Helm's Go SDK);
every manifest is validated against the Kubernetes OpenAPI schemas of each supported version.
"""

from __future__ import annotations

import copy
import json
import re
import textwrap
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from camops_operator import crdgen
from camops_operator.api import Camera
from tests.support.crd import validate
from tests.support.kubernetes import supported_versions
from tests.unit.chart.render import ALL_ON, CHART, NAMESPACE, ROOT, render

DATA = Path(__file__).parent / "data"
#: Every Kubernetes minor version from 1.29 to the newest kubernetes-validate ships.
VERSIONS = supported_versions()
#: Prometheus Operator kinds are not in the Kubernetes schemas (they come from its own CRDs).
NOT_IN_KUBERNETES_SCHEMAS = "monitoring.coreos.com/"


def _operator(values: dict[str, Any] | None = None) -> dict[str, Any]:
    return render(values).one("Deployment", "camops")


def test_versions_cover_1_29_to_the_newest() -> None:
    assert VERSIONS[0] == "1.29.0"
    assert len(VERSIONS) >= 9, VERSIONS


# --- the operator Deployment -------------------------------------------------------------------


def test_operator_runs_once_with_recreate_and_probes() -> None:
    deployment = _operator()
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["operator"]
    assert (
        container["image"]
        == f"ghcr.io/camops/camops:{yaml.safe_load((CHART / 'Chart.yaml').read_text())['appVersion']}"
    )
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in container["ports"]
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]
    assert pod["serviceAccountName"] == "camops"


@pytest.mark.parametrize("values", [None, ALL_ON], ids=["defaults", "all-on"])
def test_every_pod_meets_the_restricted_pod_security_standard(values: dict[str, Any] | None) -> None:
    pods = [m["spec"]["template"]["spec"] for m in render(values).of_kind("Deployment")]
    assert pods
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}


def test_image_digest_pins_operator_and_workers() -> None:
    digest = "sha256:" + "a" * 64
    (container,) = _operator({"image": {"digest": digest}})["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert container["image"] == f"ghcr.io/camops/camops@{digest}"
    assert env["CAMOPS_WORKER_IMAGE"] == container["image"]


def test_metrics_service_selects_the_operator() -> None:
    rendered = render()
    service = rendered.one("Service", "camops-metrics")
    labels = _operator()["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [{"name": "http-metrics", "port": 8080, "targetPort": "http", "protocol": "TCP"}]


def test_optional_parts_are_off_by_default_and_on_when_asked() -> None:
    optional = {"ServiceMonitor", "PodMonitor", "NetworkPolicy", "Secret"}
    assert not optional & {m["kind"] for m in render().manifests}
    assert not [
        m for m in render().manifests if "mediamtx" in m["metadata"]["name"] or "dashboard" in m["metadata"]["name"]
    ]
    on = render(ALL_ON)
    assert optional <= {m["kind"] for m in on.manifests}
    on.one("Deployment", "camops-mediamtx")
    on.one("ConfigMap", "camops-dashboard")


# --- CRDs ------------------------------------------------------------------------------------------


def test_chart_crds_are_a_fresh_copy_of_the_generated_ones() -> None:
    generated = sorted(p.name for p in (ROOT / "crds").glob("*.yaml"))
    copies = sorted(p.name for p in (CHART / "files" / "crds").glob("*.yaml"))
    assert copies == generated
    for name in generated:
        assert (CHART / "files" / "crds" / name).read_bytes() == (ROOT / "crds" / name).read_bytes(), (
            f"charts/camops/files/crds/{name} is stale: run `make crds`"
        )


def test_rendered_crds_carry_the_generated_schema_and_keep() -> None:
    crds = {c["metadata"]["name"]: c for c in render().of_kind("CustomResourceDefinition")}
    expected = {c["metadata"]["name"]: c for c in crdgen.all_crds()}
    assert crds.keys() == expected.keys()
    for name, crd in crds.items():
        assert crd["spec"] == expected[name]["spec"]
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false,Delete=false"


def test_crds_can_be_left_out_or_left_to_uninstall() -> None:
    assert render({"crds": {"install": False}}).of_kind("CustomResourceDefinition") == []
    for crd in render({"crds": {"keep": False}}).of_kind("CustomResourceDefinition"):
        annotations = crd["metadata"].get("annotations", {})
        assert "helm.sh/resource-policy" not in annotations
        assert "argocd.argoproj.io/sync-options" not in annotations


# --- lint, schema, Kubernetes schemas --------------------------------------------------------------


@pytest.mark.parametrize("values", [None, ALL_ON], ids=["defaults", "all-on"])
def test_strict_lint_passes(values: dict[str, Any] | None) -> None:
    report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version="v1.29.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [], report
    assert problems == [], report


BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"replicas": 2}, "additional properties 'replicas' not allowed"),
    ({"watchNamespaces": ["Cameras_1"]}, "/watchNamespaces/0"),
    ({"watchNamespaces": ["cameras", "cameras"]}, "/watchNamespaces"),
    ({"operator": {"logLevel": "LOUD"}}, "/operator/logLevel"),
    ({"operator": {"httpPort": 70000}}, "/operator/httpPort"),
    ({"operator": {"drainSchedule": "every hour"}}, "/operator/drainSchedule"),
    ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
    ({"storage": {"endpoint": "minio:9000/path with spaces"}}, "/storage/endpoint"),
    ({"storage": {"bucket": "Bad_Bucket"}}, "/storage/bucket"),
    ({"storage": {"secure": "yes"}}, "/storage/secure"),
    ({"mediamtx": {"timeout": "5 seconds"}}, "/mediamtx/timeout"),
    ({"mediamtx": {"apiUrl": "mediamtx:9997"}}, "/mediamtx/apiUrl"),
    ({"mediamtx": {"rtspTransports": ["quic"]}}, "/mediamtx/rtspTransports/0"),
    ({"metrics": {"serviceMonitor": {"enabled": "true"}}}, "/metrics/serviceMonitor/enabled"),
    ({"workers": {"serviceAccount": {"name": ""}}}, "/workers/serviceAccount/name"),
    ({"events": {"webhookUrl": "events:8080"}}, "/events/webhookUrl"),
    ({"events": {"natsUrl": "http://nats:4222"}}, "/events/natsUrl"),
]


@pytest.mark.parametrize(("values", "where"), BAD_VALUES, ids=[w for _, w in BAD_VALUES])
def test_schema_rejects_bad_values(values: dict[str, Any], where: str) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError) as caught:
        chart.validate_schema(values)
    assert where in str(caught.value)


def test_schema_accepts_the_defaults_and_every_option() -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(None)
        chart.validate_schema(ALL_ON)


def test_mediamtx_without_a_password_fails_with_a_clear_message() -> None:
    with pytest.raises(helm.HelmRenderError, match=r"mediamtx\.api\.password or mediamtx\.api\.existingSecret"):
        render({"mediamtx": {"enabled": True}})


def _validate(manifest: dict[str, Any], version: str) -> None:
    if manifest["apiVersion"].startswith(NOT_IN_KUBERNETES_SCHEMAS):
        # ServiceMonitor/PodMonitor: checked for shape in test_monitors_scrape_named_ports instead.
        return
    # CustomResourceDefinitions validate against apiextensions.k8s.io/v1 like everything else.
    kubernetes_validate.validate(manifest, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("values", [None, ALL_ON], ids=["defaults", "all-on"])
def test_every_manifest_is_valid_kubernetes(values: dict[str, Any] | None, version: str) -> None:
    rendered = render(values)
    assert len(rendered.manifests) >= 8
    for manifest in rendered.manifests:
        try:
            _validate(manifest, version)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{manifest['kind']}/{manifest['metadata']['name']} invalid for {version}: {exc.message}")


def test_strict_validation_catches_a_typo() -> None:
    """The validation above can fail: a misspelt field is rejected."""
    deployment = copy.deepcopy(_operator())
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(deployment, VERSIONS[-1])


def test_monitors_scrape_named_ports() -> None:
    rendered = render(ALL_ON)
    monitor = rendered.one("ServiceMonitor", "camops")
    ports = {p["name"] for s in rendered.of_kind("Service") for p in s["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports
    pod_monitor = rendered.one("PodMonitor", "camops-workers")
    assert pod_monitor["spec"]["namespaceSelector"] == {"matchNames": ["cameras", "lobby"]}
    assert pod_monitor["spec"]["selector"]["matchLabels"]
    assert render({"metrics": {"podMonitor": {"enabled": True}}}).one("PodMonitor", "camops-workers")["spec"][
        "namespaceSelector"
    ] == {"any": True}


# --- MediaMTX --------------------------------------------------------------------------------------


def _mediamtx_config(values: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(render(values).one("ConfigMap", "camops-mediamtx")["data"]["mediamtx.yml"])
    return config


def test_mediamtx_config_uses_only_settings_mediamtx_knows() -> None:
    reference = yaml.safe_load((DATA / "mediamtx-reference.yml").read_text())
    config = _mediamtx_config(ALL_ON)
    assert set(config) - set(reference) == set()
    assert set(config["pathDefaults"]) - set(reference["pathDefaults"]) == set()
    user_keys = set(reference["authInternalUsers"][0])
    actions = {"publish", "read", "playback", "api", "metrics", "pprof"}
    for user in config["authInternalUsers"]:
        assert set(user) <= user_keys
        assert {p["action"] for p in user["permissions"]} <= actions


def test_mediamtx_api_is_for_the_operator_only_and_metrics_are_on() -> None:
    config = _mediamtx_config(ALL_ON)
    assert config["api"] is True
    assert config["metrics"] is True
    users = config["authInternalUsers"]
    api_users = [i for i, u in enumerate(users) if any(p["action"] == "api" for p in u["permissions"])]
    assert len(api_users) == 1
    index = api_users[0]
    assert users[index]["user"] == "camops-operator"  # a named user with a password, never "any"
    assert not any(p["action"] == "publish" for u in users for p in u["permissions"])
    # The password comes from the Secret through MediaMTX's env override of that very list entry.
    rendered = render(ALL_ON)
    (mediamtx,) = rendered.one("Deployment", "camops-mediamtx")["spec"]["template"]["spec"]["containers"]
    (password,) = mediamtx["env"]
    assert password["name"] == f"MTX_AUTHINTERNALUSERS_{index}_PASS"
    secret_ref = password["valueFrom"]["secretKeyRef"]
    (operator,) = _operator(ALL_ON)["spec"]["template"]["spec"]["containers"]
    operator_env = {e["name"]: e for e in operator["env"]}
    assert operator_env["CAMOPS_MEDIAMTX_PASSWORD"]["valueFrom"]["secretKeyRef"] == secret_ref
    assert operator_env["CAMOPS_MEDIAMTX_USERNAME"]["value"] == "camops-operator"
    assert "not-a-real-password" not in yaml.safe_dump(rendered.one("ConfigMap", "camops-mediamtx"))
    # Only the operator's pods reach the API port.
    policy = rendered.one("NetworkPolicy", "camops-mediamtx")
    api_rules = [r for r in policy["spec"]["ingress"] if {"port": "api", "protocol": "TCP"} in r["ports"]]
    assert api_rules == [
        {
            "from": [{"podSelector": {"matchLabels": _operator(ALL_ON)["spec"]["selector"]["matchLabels"]}}],
            "ports": [{"port": "api", "protocol": "TCP"}],
        }
    ]


def test_mediamtx_extra_config_is_merged() -> None:
    config = _mediamtx_config({**ALL_ON, "mediamtx": {**ALL_ON["mediamtx"], "config": {"readTimeout": "20s"}}})
    assert config["readTimeout"] == "20s"
    assert config["api"] is True


def test_operator_reaches_the_bundled_mediamtx() -> None:
    (operator,) = _operator(ALL_ON)["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in operator["env"]}
    rendered = render(ALL_ON)
    internal = rendered.one("Service", "camops-mediamtx-internal")
    public = rendered.one("Service", "camops-mediamtx")
    assert env["CAMOPS_MEDIAMTX_API_URL"] == f"http://camops-mediamtx-internal.{NAMESPACE}.svc:9997"
    assert env["CAMOPS_MEDIAMTX_RTSP_URL"] == f"rtsp://camops-mediamtx.{NAMESPACE}.svc:8554"
    assert {p["port"] for p in internal["spec"]["ports"]} == {9997, 9998}
    assert 9997 not in {p["port"] for p in public["spec"]["ports"]}


def test_no_mediamtx_no_mediamtx_settings() -> None:
    (operator,) = _operator()["spec"]["template"]["spec"]["containers"]
    assert not [e for e in operator["env"] if e["name"].startswith("CAMOPS_MEDIAMTX_")]


# --- NOTES, values documentation ------------------------------------------------------------------


def test_notes_tell_how_to_add_a_camera_and_where_to_look() -> None:
    notes = render(ALL_ON).notes
    for needle in ("kind: Camera", "kubectl -n cameras get cam", "describe cam", "lastError", "logs deploy/"):
        assert needle in notes, needle
    assert "WARNING" not in notes
    warned = render().notes
    assert "storage.endpoint is empty" in warned
    assert "no camera namespace is known" in warned


def _undocumented(lines: list[str]) -> list[str]:
    """Keys with no ``# --`` comment above them that are not inside a documented value."""
    missing: list[str] = []
    documented_roots: list[int] = []  # indents of open subtrees documented as one value
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z_][A-Za-z0-9_.-]*):", line)
        if not match:
            continue
        indent = len(match.group(1))
        while documented_roots and documented_roots[-1] >= indent:
            documented_roots.pop()
        if documented_roots:
            continue  # part of a documented value (resources, labels, a security context, ...)
        is_section = line.rstrip().endswith(":")
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#") and not lines[j].strip().startswith("# --"):
            j -= 1  # a description may continue over several comment lines
        if j >= 0 and lines[j].strip().startswith("# --"):
            documented_roots.append(indent)
        elif not is_section:
            missing.append(f"values.yaml:{i + 1}: {line.strip()}")
    return missing


def test_every_value_is_documented() -> None:
    assert _undocumented((CHART / "values.yaml").read_text().splitlines()) == []
    assert _undocumented(["a:", "  b: 1"]) == ["values.yaml:2: b: 1"]


# --- Grafana dashboard -----------------------------------------------------------------------------

METRIC_DEFINITION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary|GaugeMetricFamily|CounterMetricFamily|HistogramMetricFamily)\(\s*"
    r"\"(camops_[a-z0-9_]+)\""
)


def _exposed_metric_names() -> set[str]:
    """Every series name the code exposes, with the suffixes Prometheus adds per metric type."""
    names: set[str] = set()
    for path in [*ROOT.glob("operator/camops_operator/**/*.py"), *ROOT.glob("workers/camops_workers/**/*.py")]:
        for kind, name in METRIC_DEFINITION.findall(path.read_text()):
            base = name.removesuffix("_total")
            if kind.startswith("Counter"):
                names |= {base + "_total", base + "_created"}
            elif kind.startswith(("Histogram", "Summary")):
                names |= {base + "_bucket", base + "_sum", base + "_count", base + "_created"}
            else:
                names.add(name)
    return names


def test_dashboard_queries_only_metrics_the_code_exposes() -> None:
    rendered = render(ALL_ON).one("ConfigMap", "camops-dashboard")
    dashboard = json.loads(rendered["data"]["camops.json"])
    assert dashboard == json.loads((CHART / "dashboards" / "camops.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    used = {name for expr in exprs for name in re.findall(r"\bcamops_[a-z0-9_]+\b", expr)}
    exposed = _exposed_metric_names()
    assert len(exposed) > 10, "the metric definitions were not found"
    assert used - exposed == set()
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in (
        "phase",
        "snapshots per second",
        "queue depth",
        "upload errors",
        "reconnects",
        "analysis requests",
        "analysis frames dropped",
        "events published",
        "events dropped",
        "retention runs",
    ):
        assert topic in titles, topic


# --- README ----------------------------------------------------------------------------------------


def _install_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Install on Kubernetes")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def test_readme_install_commands_work_with_this_chart() -> None:
    section = _install_section()
    command = re.search(r"helm install camops (\S+) .*?\n\n", section, re.S)
    assert command, "the README shows a helm install"
    assert (ROOT / command.group(1)).resolve() == CHART
    values: dict[str, Any] = {}
    for flag, raw_assignment in re.findall(r"--(set|set-string) ('[^']+'|\S+)", command.group(0)):
        assignment = re.sub(r"\"\$\(.*?\)\"", "0123456789abcdef", raw_assignment.strip("'"))
        parsed = helm.parse_set_string(assignment) if flag == "set" else None
        if parsed is None:
            key, _, raw = assignment.partition("=")
            parsed = {}
            node = parsed
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = raw
        _merge(values, parsed)
    assert values["storage"]["endpoint"]
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
    rendered = render(values)
    assert rendered.one("ServiceAccount", "camops-worker")["metadata"]["namespace"] == "cameras"
    for path in re.findall(r"-f (examples/\S+)", section) + re.findall(r"--patch-file (examples/\S+)", section):
        assert (ROOT / path).is_file(), path
    assert "kubectl -n cameras get cam" in section


def test_the_camera_in_the_notes_is_accepted() -> None:
    notes = render(ALL_ON).notes
    block = notes.split("<<'YAML'", 1)[1].split("\n", 1)[1].split("     YAML", 1)[0]
    camera = yaml.safe_load(textwrap.dedent(block))
    camera["metadata"]["namespace"] = "cameras"
    assert validate(crdgen.camera_crd(), camera) == []
    Camera.model_validate(camera)


def test_packaged_chart_renders_the_same(tmp_path: Path) -> None:
    """What `helm package` ships (after .helmignore) still holds the CRDs and the dashboard."""
    archive = helm.package(CHART, destination=tmp_path)
    with helm.Chart.load(archive) as packaged:
        out = packaged.render(ALL_ON, name="camops", namespace=NAMESPACE, is_install=True)
    manifests = [
        d for path, text in sorted(out.items()) if not path.endswith("NOTES.txt") for d in yaml.safe_load_all(text) if d
    ]
    assert manifests == list(render(ALL_ON).manifests)


def test_pull_secrets_reach_operator_and_worker_pods() -> None:
    rendered = render({**ALL_ON, "imagePullSecrets": [{"name": "registry"}]})
    assert rendered.one("Deployment", "camops")["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "registry"}
    ]
    workers = [sa for sa in rendered.of_kind("ServiceAccount") if sa["metadata"]["name"] == "camops-worker"]
    assert len(workers) == 2
    assert all(sa["imagePullSecrets"] == [{"name": "registry"}] for sa in workers)
    for manifest in rendered.manifests:
        if manifest["apiVersion"].startswith(NOT_IN_KUBERNETES_SCHEMAS):
            continue
        kubernetes_validate.validate(manifest, VERSIONS[-1], strict=True)
