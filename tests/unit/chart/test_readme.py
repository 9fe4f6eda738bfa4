"""What a platform team reads before installing: the chart's README, the licence, the changelog."""

from __future__ import annotations

import tarfile
import tomllib
from pathlib import Path

import helm_python as helm
import yaml

from camops_operator import chartdoc, docgen
from tests.unit.chart.render import CHART, ROOT


def test_chart_readme_lists_every_value_and_is_fresh() -> None:
    readme = (CHART / "README.md").read_text()
    docs, _ = chartdoc.parse_values((CHART / "values.yaml").read_text())
    assert len(docs) > 50, "the documented values were not found"
    for doc in docs:
        assert f"| `{doc.path}` |" in readme, doc.path
    assert docgen.check_chart_readme(CHART / "README.md", CHART / "values.yaml")


def test_chart_readme_states_the_prerequisites_and_upgrades() -> None:
    readme = (CHART / "README.md").read_text()
    prerequisites = readme.split("## Prerequisites", 1)[1].split("\n## ", 1)[0]
    kube_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    assert kube_version.startswith(">=1.29")
    for needle in ("Kubernetes ≥ 1.29", "S3 endpoint", "bucket", "StorageClass", "monitoring.coreos.com"):
        assert needle in prerequisites, needle
    assert "## Upgrading" in readme


def test_helm_package_ships_the_readme(tmp_path: Path) -> None:
    archive = helm.package(CHART, destination=tmp_path)
    with tarfile.open(archive) as tar:
        shipped = tar.extractfile("camops/README.md")
        assert shipped is not None
        assert shipped.read().decode() == (CHART / "README.md").read_text()


def test_nested_documented_values_are_listed_by_their_leaves() -> None:
    text = "\n".join(
        [
            "# Where things go.",
            "group:",
            "  # -- A documented section",
            "  # over two lines.",
            "  section:",
            "    # -- The leaf.",
            "    leaf: 1",
            "  # -- A whole map as one value.",
            "  labels:",
            "    a: b",
            "# -- Top-level flag.",
            "flag: true",
        ]
    )
    docs, intros = chartdoc.parse_values(text)
    assert [(d.path, d.description, d.default) for d in docs] == [
        ("group.section.leaf", "The leaf.", 1),
        ("group.labels", "A whole map as one value.", {"a": "b"}),
        ("flag", "Top-level flag.", True),
    ]
    assert intros == {"group": "Where things go."}
    block = chartdoc.render_values(text)
    assert "### `group`\n\nWhere things go." in block
    assert '| `group.labels` | `{"a": "b"}` | A whole map as one value. |' in block
    assert "### General" in block


def test_licence_file_matches_the_declared_licence() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"  # an SPDX expression (PEP 639), not the deprecated table
    assert project["license-files"] == ["LICENSE"]
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in (ROOT / "Dockerfile").read_text()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert f"## [{project['version']}]" in changelog
