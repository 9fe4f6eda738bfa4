"""`camops local`'s console: loopback only, and a taken port leaves the run without a console, not failed."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from camops_operator.console.serve import LocalConsole, is_loopback, split_address
from camops_operator.local.status import CameraView


def test_addresses() -> None:
    assert split_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert split_address("9000") == ("127.0.0.1", 9000)
    assert split_address("[::1]:81") == ("::1", 81)
    assert split_address("localhost") == ("localhost", 8080)
    assert is_loopback("127.0.0.2")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.5")


def test_local_console_refuses_anything_but_loopback() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        LocalConsole(list, [], "0.0.0.0:8080")


def test_serves_on_a_free_port_and_says_when_the_port_is_taken() -> None:
    views: list[CameraView] = []
    console = LocalConsole(lambda: views, [], "127.0.0.1:0")
    assert console.start()
    try:
        with urllib.request.urlopen(console.url + "healthz", timeout=5) as resp:  # noqa: S310 - loopback
            assert resp.read().startswith(b"ok 0 cameras")
        rebound = urllib.request.Request(  # noqa: S310 - loopback
            console.url + "healthz", headers={"Host": f"evil.example:{console.port}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:  # DNS rebinding: a foreign name for 127.0.0.1
            urllib.request.urlopen(rebound, timeout=5)  # noqa: S310 - loopback
        assert refused.value.code == 421
        busy = LocalConsole(lambda: views, [], f"127.0.0.1:{console.port}")
        assert not busy.start()
        assert busy.error is not None
        assert "cannot listen" in busy.error
    finally:
        console.stop()
    with socket.socket() as probe:  # the port is free again once the run stops
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind (TIME_WAIT may linger)
        probe.bind(("127.0.0.1", console.port))
