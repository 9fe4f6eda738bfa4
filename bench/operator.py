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
- converge_s_1000_pooled, operator_rss_mb_1000_pooled, cpu_ms_per_camera_pooled: the same with the
  Cameras in CameraPools of 100 (50 per worker); converged when every Camera has a status and
  every Camera is in its pool's assignment ConfigMap. ``--own`` or ``--pooled`` runs only one mode.

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


POOL_SIZE = 100
PER_WORKER = 50


def camera(i: int, pooled: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "source": {"url": f"rtsp://10.1.{i // 250}.{i % 250}/stream1"},
        "snapshots": {"interval": "10s"},
    }
    if pooled:
        spec["pool"] = f"pool-{i // POOL_SIZE}"
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "Camera",
        "metadata": {"name": f"cam-{i:04d}", "namespace": NAMESPACE, "labels": {"site": f"s{i % 10}"}},
        "spec": spec,
    }


def pool(k: int) -> dict[str, Any]:
    return {
        "apiVersion": "camops.io/v1alpha1",
        "kind": "CameraPool",
        "metadata": {"name": f"pool-{k}", "namespace": NAMESPACE},
        "spec": {"camerasPerWorker": PER_WORKER},
    }


def assigned(kube: KubeServer, pools: int) -> int:
    total = 0
    for k in range(pools):
        cm = kube.get("v1/configmaps", NAMESPACE, f"pool-{k}-pool")
        if cm is not None:
            total += sum(len(members) for members in json.loads(cm["data"]["assignment.json"]))
    return total


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


async def run(n: int, pooled: bool = False) -> dict[str, Any]:
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
            # its log goes to a file: a pipe nobody reads blocks the operator once the pipe is full
            log_file = Path(tmp) / "operator.log"
            operator = subprocess.Popen(
                [sys.executable, "-m", "camops_operator.cli", "operator"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log_file.open("wb"),
            )
            proc = psutil.Process(operator.pid)
            try:
                await asyncio.sleep(3.0)  # let it start, log in and open its watches
                if operator.poll() is not None:
                    raise RuntimeError(f"operator exited: {log_file.read_text(errors='replace')[-2000:]}")
                peak_rss = proc.memory_info().rss
                cpu_start = cpu_ms(proc)
                started = time.monotonic()
                sem = asyncio.Semaphore(IN_FLIGHT)
                pools = -(-n // POOL_SIZE) if pooled else 0
                async with aiohttp.ClientSession(kube.url) as session:
                    for k in range(pools):
                        url = f"/apis/camops.io/v1alpha1/namespaces/{NAMESPACE}/camerapools"
                        async with session.post(url, json=pool(k)) as resp:
                            if resp.status >= 300:
                                raise RuntimeError(f"create pool-{k}: {resp.status} {await resp.text()}")

                    async def create(i: int) -> None:
                        async with (
                            sem,
                            session.post(
                                f"/apis/camops.io/v1alpha1/namespaces/{NAMESPACE}/cameras", json=camera(i, pooled)
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
                        if pooled:
                            deployments = assigned(kube, pools)  # a pooled camera's worker is its slot
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
                    f"did not converge in {TIMEOUT_S}s: {deployments} deployments, {with_status} statuses; "
                    f"operator log: {log_file.read_text(errors='replace')[-2000:]}"
                )
            if os.environ.get("CAMOPS_BENCH_DEBUG"):
                print(log_file.read_text(errors="replace")[-3000:], file=sys.stderr)
    suffix = "_pooled" if pooled else ""
    return {
        f"converge_s_{n}{suffix}": round(converge, 2),
        f"operator_rss_mb_{n}{suffix}": round(peak_rss / 2**20, 1),
        f"cpu_ms_per_camera{suffix}": round(cpu_used / n, 2),
        f"idle_cpu_ms_per_s{suffix}": round(idle, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="100 Cameras instead of 1000")
    parser.add_argument("--cameras", type=int, default=None, help="how many Cameras (overrides --quick)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--own", action="store_true", help="only Cameras with a Deployment each")
    only.add_argument("--pooled", action="store_true", help="only Cameras in CameraPools")
    args = parser.parse_args()
    n = args.cameras or (100 if args.quick else 1000)
    result: dict[str, Any] = {"cameras": n}
    if not args.pooled:
        result.update(asyncio.run(run(n)))
    if not args.own:
        result.update(asyncio.run(run(n, pooled=True)))
    print(f"{'figure':<32} {'value':>10}")
    for key, value in result.items():
        print(f"{key:<32} {value:>10}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
