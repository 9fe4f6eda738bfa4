"""The chart's PrometheusRule: valid for promtool, alerts fire (and stay quiet) as the unit tests say,
each links to a runbook section, and every metric it reads is one the code exposes.

`promtool` comes from Debian's ``prometheus`` package (``make system-deps``); these tests never skip.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from camops_workers.picture.states import PictureState
from tests.unit.chart.render import ALL_ON, ROOT, render
from tests.unit.chart.test_chart import _exposed_metric_names

DATA = Path(__file__).parent / "data"
#: Series from Prometheus itself and prometheus_client's process collector, not from camops' code.
EXTERNAL_METRICS = {"up", "process_start_time_seconds"}
ALERTS = {
    "CamopsCameraDown",
    "CamopsPictureUnhealthy",
    "CamopsWorkerRestarting",
    "CamopsQueueNearLimit",
    "CamopsQueueBacklogGrowing",
    "CamopsQueueItemsDropped",
    "CamopsStorageUnreachable",
    "CamopsRetentionRunFailed",
    "CamopsRetentionNotRun",
    "CamopsOperatorDown",
}


def _promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: run `make system-deps` (Debian package prometheus)"
    return path


def _groups(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rule = render(ALL_ON if values is None else values).one("PrometheusRule", "camops")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def _rules(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for group in groups for rule in group["rules"]]


def _promtool_test(groups: list[dict[str, Any]], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the unit tests of data/alerts.test.yaml against ``groups`` (annotations left out)."""
    stripped = copy.deepcopy(groups)
    for rule in _rules(stripped):
        rule.pop("annotations", None)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": stripped}, sort_keys=False))
    shutil.copy(DATA / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    return subprocess.run(
        [_promtool(), "test", "rules", "alerts.test.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_prometheus_rule_unless_asked() -> None:
    assert render().of_kind("PrometheusRule") == []
    without_operator_monitor = copy.deepcopy(ALL_ON)
    without_operator_monitor["metrics"]["serviceMonitor"]["enabled"] = False
    names = {rule["alert"] for rule in _rules(_groups(without_operator_monitor))}
    assert names == ALERTS - {"CamopsOperatorDown"}, "the operator alert needs the operator scraped"


def test_rules_pass_promtool_check(tmp_path: Path) -> None:
    groups = _groups()
    assert {rule["alert"] for rule in _rules(groups)} == ALERTS
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    result = subprocess.run(
        [_promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_alerts_fire_and_stay_quiet_as_the_unit_tests_say(tmp_path: Path) -> None:
    result = _promtool_test(_groups(), tmp_path)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_looser_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    """The unit tests can fail: at 40 % the half-full queue of the test alerts too."""
    values = copy.deepcopy(ALL_ON)
    values["metrics"]["prometheusRule"] = {"enabled": True, "queueNearLimitRatio": 0.4}
    result = _promtool_test(_groups(values), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "CamopsQueueNearLimit" in output
    assert "porch-worker-1" in output


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_every_alert_links_to_its_runbook_section() -> None:
    guide = (ROOT / "docs" / "troubleshooting.md").read_text()
    headings = {_anchor(h): line for line, h in re.findall(r"^(#{2,4} (.+))$", guide, re.M)}
    for rule in _rules(_groups()):
        annotations = rule["annotations"]
        assert annotations["summary"]
        assert annotations["description"]
        url = annotations["runbook_url"]
        assert url.startswith("https://github.com/camops/camops/blob/main/docs/troubleshooting.md#"), url
        anchor = url.split("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert anchor in headings, f"docs/troubleshooting.md has no section for {rule['alert']}"
        section = guide.split(headings[anchor] + "\n", 1)[1].split("\n#", 1)[0]
        assert len(section.split()) > 40, f"the runbook of {rule['alert']} says too little"


def test_rules_read_only_metrics_the_code_exposes() -> None:
    exprs = [rule["expr"] for rule in _rules(_groups())]
    camops = {name for expr in exprs for name in re.findall(r"\bcamops_[a-z0-9_]+\b", expr)}
    assert len(camops) >= 12, camops
    assert camops - _exposed_metric_names() == set()
    selectors = {name for expr in exprs for name in re.findall(r"\b([a-z_][a-z0-9_]*)\{", expr)}
    assert selectors - camops <= EXTERNAL_METRICS


def test_alert_labels_reach_every_alert() -> None:
    values = copy.deepcopy(ALL_ON)
    values["metrics"]["prometheusRule"] = {"enabled": True, "alertLabels": {"team": "video"}}
    for rule in _rules(_groups(values)):
        assert rule["labels"] == {"severity": rule["labels"]["severity"], "team": "video"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_picture_alert_counts_every_fault_state_the_worker_reports() -> None:
    rule = next(r for r in _rules(_groups()) if r["alert"] == "CamopsPictureUnhealthy")
    listed = re.search(r'camops_picture_state\{state=~"([^"]+)"\}', rule["expr"])
    assert listed, rule["expr"]
    assert set(listed.group(1).split("|")) == {s.value for s in PictureState} - {PictureState.HEALTHY.value}
