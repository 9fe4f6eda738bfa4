"""Operator benchmark: how fast 1000 Cameras converge, and what the operator costs.

Run: ``.venv/bin/python bench/operator.py [--quick] [--cameras N]``. This process runs the
Kubernetes emulator (tests/servers/kube.py); the operator runs as its own process
(``camops operator``, pointed at the emulator with a kubeconfig) so its memory and CPU are
measured alone. All Cameras are POSTed at once (64 in flight) and the clock stops when every
Camera has a worker Deployment and a status.

- converge_s_1000: seconds from the first POST until every Deployment exists and every Camera has
  a status (goal <= 60). ``--quick`` runs 100 Cameras and reports ``converge_s_100`` instead.
- operator_rss_mb_1000: the operator's peak RSS during the run (goal <= 250).
- cpu_ms_per_camera: operator CPU time (user + system) from the first POST to convergence,
  divided by the number of Cameras.
- idle_cpu_ms_per_s: operator CPU over 5 s of idling after convergence (the baseline in this run).

The last line of output is one JSON object with these figures.
"""

# ruff: noqa: E402 - bench/ must leave sys.path before anything else is imported (see below)
from __future__ import annotations

import sys

# This file is named like the standard library's ``operator`` (and bench/ holds a ``queue.py``):
# keep bench/ off the import path so neither shadows the real modules.
_HERE = __file__.rsplit("/", 1)[0] or "."
sys.path[:] = [p for p in sys.path if p not in {_HERE, ""} and not p.rstrip("/").endswith("/bench")]

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers.kube import KubeServer, running_kube

NAMESPACE = "bench"
CAMERAS = "camops.io/v1alpha1/cameras"
DEPLOYMENTS = "apps/v1/deployments"
IN_FLIGHT = 64
TIMEOUT_S = 600.0


def camera(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": f"cam-{i:04d}", "namespace": NAMESPACE, "labels": {"site": f"s{i % 10}"}},
        "spec": {"source": {"url": f"rtsp://10.1.{i // 250}.{i % 250}/stream1"}, "snapshots": {"interval": "10s"}},
    }


def counts(kube: KubeServer) -> tuple[int, int]:
    deployments = len(kube.names(DEPLOYMENTS, NAMESPACE))
    with_status = 0
    for (res, _, _), obj in list(kube.emulator.objects.items()):
        if getattr(res, "plural", None) == "cameras" and not obj.deleted and obj.raw.get("status", {}).get("phase"):
            with_status += 1
    return deployments, with_status


def cpu_ms(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return (times.user + times.system) * 1000.0


async def run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="camops-bench-") as tmp:
        async with running_kube(Path(tmp)) as kube:
            env = {
                **os.environ,
                "KUBECONFIG": str(kube.kubeconfig),
                "CAMOPS_NAMESPACES": NAMESPACE,
                "CAMOPS_HTTP_PORT": "0",
                "CAMOPS_LOG_LEVEL": "WARNING",
                "CAMOPS_STATUS_INTERVAL": "60",
            }
            operator = subprocess.Popen(
                [sys.executable, "-m", "camops_operator.cli", "operator"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            proc = psutil.Process(operator.pid)
            try:
                await asyncio.sleep(3.0)  # let it start, log in and open its watches
                if operator.poll() is not None:
                    raise RuntimeError(f"operator exited: {operator.stderr.read().decode() if operator.stderr else ''}")
                peak_rss = proc.memory_info().rss
                cpu_start = cpu_ms(proc)
                started = time.monotonic()
                sem = asyncio.Semaphore(IN_FLIGHT)
                async with aiohttp.ClientSession(kube.url) as session:

                    async def create(i: int) -> None:
                        async with (
                            sem,
                            session.post(
                                f"/apis/camops.io/v1alpha1/namespaces/{NAMESPACE}/cameras", json=camera(i)
                            ) as resp,
                        ):
                            if resp.status >= 300:
                                raise RuntimeError(f"create cam-{i}: {resp.status} {await resp.text()}")

                    creating = asyncio.gather(*(create(i) for i in range(n)))
                    deployments = with_status = 0
                    while time.monotonic() - started < TIMEOUT_S:
                        await asyncio.sleep(0.25)
                        peak_rss = max(peak_rss, proc.memory_info().rss)
                        deployments, with_status = counts(kube)
                        if os.environ.get("CAMOPS_BENCH_DEBUG"):
                            print(
                                f"{time.monotonic() - started:6.1f}s {deployments} deployments {with_status} statuses",
                                file=sys.stderr,
                            )
                        if creating.done() and deployments >= n and with_status >= n:
                            break
                    await creating
                converge = time.monotonic() - started
                cpu_used = cpu_ms(proc) - cpu_start
                idle_start = cpu_ms(proc)
                await asyncio.sleep(5.0)
                idle = (cpu_ms(proc) - idle_start) / 5.0
                peak_rss = max(peak_rss, proc.memory_info().rss)
            finally:
                operator.terminate()
                try:
                    operator.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    operator.kill()
            if deployments < n or with_status < n:
                raise RuntimeError(
                    f"did not converge in {TIMEOUT_S}s: {deployments} deployments, {with_status} statuses"
                )
    return {
        f"converge_s_{n}": round(converge, 2),
        f"operator_rss_mb_{n}": round(peak_rss / 2**20, 1),
        "cpu_ms_per_camera": round(cpu_used / n, 2),
        "idle_cpu_ms_per_s": round(idle, 2),
        "cameras": n,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="100 Cameras instead of 1000")
    parser.add_argument("--cameras", type=int, default=None, help="how many Cameras (overrides --quick)")
    args = parser.parse_args()
    n = args.cameras or (100 if args.quick else 1000)
    result = asyncio.run(run(n))
    print(f"{'figure':<24} {'value':>10}")
    for key, value in result.items():
        print(f"{key:<24} {value:>10}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
