"""The chart's optional console: off by default; when on, its Service, Ingress, NetworkPolicy and NOTES."""

from __future__ import annotations

from tests.unit.chart.render import render


def test_console_is_off_by_default() -> None:
    rendered = render()
    assert not [m for m in rendered.manifests if m["metadata"]["name"].endswith("-console")]
    assert "console" not in rendered.notes.lower()


def test_console_service_ingress_and_network_policy() -> None:
    rendered = render({"console": {"enabled": True, "ingress": {"enabled": True, "host": "cams.example.com"}}})
    service = rendered.one("Service", "camops-console")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    (rule,) = rendered.one("Ingress", "camops-console")["spec"]["rules"]
    assert rule["host"] == "cams.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "camops-console"
    policy = rendered.one("NetworkPolicy", "camops-console")["spec"]
    assert policy["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    (container,) = rendered.one("Deployment", "camops-console")["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["console", "--listen", "0.0.0.0:8080"]
    env = {e["name"]: e for e in container["env"]}
    assert env["CAMOPS_STORAGE_SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "camops-storage",
        "key": "secretKey",
    }
    assert "https://cams.example.com/" in rendered.notes


def test_trusting_a_proxy_is_explicit_and_narrowed_by_the_policy() -> None:
    peers = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "oauth2-proxy"}}}]
    rendered = render({"console": {"enabled": True, "trustProxyHeaders": True, "networkPolicy": {"from": peers}}})
    (container,) = rendered.one("Deployment", "camops-console")["spec"]["template"]["spec"]["containers"]
    assert "--trust-proxy-headers" in container["args"]
    assert rendered.one("NetworkPolicy", "camops-console")["spec"]["ingress"][0]["from"] == peers


def test_notes_say_how_to_reach_the_console() -> None:
    notes = render({"console": {"enabled": True}}).notes
    assert "kubectl -n camops-system port-forward svc/camops-console 8080:80" in notes
    assert "bearer token" in notes
