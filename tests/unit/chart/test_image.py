"""The Dockerfile builds what the chart runs (no Docker engine here, so its text is checked).

Every file it copies exists and survives .dockerignore, the final stage runs ``camops`` as a
non-root user on slim Python 3.11 with no build tools, and the chart's commands exist.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from dataclasses import dataclass, field

import pytest

from camops_operator.cli import COMMANDS
from tests.unit.chart.render import ALL_ON, ROOT, render

COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cmake|python3-dev|libc6-dev|rustc|cargo)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, args = pending.partition(" ")
        out.append((keyword.upper(), args.strip()))
        pending = ""
    return out


def _stages(text: str) -> list[Stage]:
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in _instructions(text):
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            stages.append(Stage(base, words[2] if len(words) == 3 and words[1].upper() == "AS" else None))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a match on a parent folder covers its files."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatch(c, glob) or fnmatch.fnmatch(c, glob.replace("**/", "")) for c in candidates):
            ignored = not negate
    return ignored


DOCKERFILE = (ROOT / "Dockerfile").read_text()
STAGES = _stages(DOCKERFILE)
IGNORE = [
    line.strip()
    for line in (ROOT / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def _copy_sources(stage: Stage) -> list[str]:
    sources: list[str] = []
    for args in stage.all("COPY"):
        words = shlex.split(args)
        if any(w.startswith("--from=") for w in words):
            continue
        sources += [w for w in words if not w.startswith("--")][:-1]
    return sources


def test_dockerfile_is_multi_stage_on_slim_python_3_11() -> None:
    assert len(STAGES) >= 2
    for stage in STAGES:
        assert stage.base.startswith("python:3.11-slim"), stage.base


def test_every_copied_file_exists_and_is_not_dockerignored() -> None:
    sources = [s for stage in STAGES for s in _copy_sources(stage)]
    assert {"pyproject.toml", "operator", "workers"} <= {s.rstrip("/") for s in sources}
    for source in sources:
        path = source.rstrip("/").removeprefix("./")
        assert (ROOT / path).exists(), f"COPY {source}: no such file in the repository"
        assert not _ignored(path, IGNORE), f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_local_state_out() -> None:
    for local in (".venv/bin/python", ".git/HEAD", "camops-data/x.jpg", "tests/conftest.py"):
        assert _ignored(local, IGNORE), local
    assert _ignored("operator/camops_operator/__pycache__/cli.cpython-311.pyc", IGNORE)
    assert not _ignored("operator/camops_operator/cli.py", IGNORE)


def test_final_stage_runs_camops_as_non_root_without_build_tools() -> None:
    final = STAGES[-1]
    assert final.all("ENTRYPOINT") == ['["camops"]']
    (user,) = final.all("USER")
    assert user.split(":")[0] not in {"0", "root"}
    assert _copy_sources(final) == [], "the final stage copies only from the build stage"
    for run in final.all("RUN"):
        assert not COMPILERS.search(run), run
        assert "pip install" not in run, "nothing is installed in the final stage"
    for stage in STAGES:
        for run in stage.all("RUN"):
            assert not re.search(r"apt-get install[^&]*" + COMPILERS.pattern, run), run


def test_entrypoint_is_the_packaged_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["camops"] == "camops_operator.cli:main"


@pytest.mark.parametrize("values", [None, ALL_ON], ids=["defaults", "all-on"])
def test_chart_runs_commands_the_image_has(values: dict[str, object] | None) -> None:
    image = "ghcr.io/camops/camops"
    for deployment in render(values).of_kind("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            if container["image"].startswith(image):
                assert "command" not in container, "the image's ENTRYPOINT is camops"
                assert container["args"][0] in COMMANDS
