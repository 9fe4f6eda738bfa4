"""Shared fixtures. Each area registers its server fixtures module in ``pytest_plugins``."""

pytest_plugins: list[str] = [
    "tests.servers.s3",
]
