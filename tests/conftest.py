"""Shared fixtures. Each area registers its server fixtures module in ``pytest_plugins``."""

pytest_plugins: list[str] = [
    "tests.servers.s3",
    "tests.servers.inference",
    "tests.servers.webhook",
    "tests.servers.nats_server",
    "tests.servers.rtsp",
    "tests.servers.http_camera",
    "tests.servers.kube",
    "tests.servers.mediamtx",
    "tests.support.clock",
]
