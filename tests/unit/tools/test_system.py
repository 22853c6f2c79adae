"""Tests for the system tools, checked against what the OS itself reports."""

from __future__ import annotations

import json
import os
import platform
import socket
from collections.abc import Iterator

import psutil
import pytest

import llmos_tools.system as system
from llmos_shell.calls import Risk
from llmos_shell.registry import tools_in_module


def test_module_registers_system_tools_read_only() -> None:
    found = {t.name: t for t in tools_in_module(system)}
    assert set(found) == {"system_info", "network_info"}
    for t in found.values():
        assert t.risk is Risk.READ_ONLY
        assert 3 <= len(t.examples) <= 5
        for example in t.examples:
            t.validate(example.arguments)
        for prop, spec in t.parameters_schema()["properties"].items():
            assert spec.get("description"), f"{t.name}.{prop}"


def test_system_info_matches_the_machine() -> None:
    info = system.system_info()
    json.dumps(info)
    assert info["hostname"] == socket.gethostname()
    assert info["kernel"] == f"{platform.system()} {platform.release()}"
    assert info["python"].endswith(platform.python_version())
    assert info["cpu"]["cores_logical"] == os.cpu_count()
    assert info["cpu"]["model"]
    assert info["memory"]["total"] == psutil.virtual_memory().total
    assert 0 < info["memory"]["available"] <= info["memory"]["total"]
    assert info["memory"]["total_human"].endswith(("MB", "GB", "TB"))
    assert info["swap"]["total"] == psutil.swap_memory().total
    assert info["uptime_s"] > 0 and info["uptime_human"]
    if hasattr(os, "getloadavg"):
        assert len(info["cpu"]["load_average_1_5_15"]) == 3
    battery = psutil.sensors_battery() if hasattr(psutil, "sensors_battery") else None
    assert (info["battery"] is None) == (battery is None)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "less than a minute"),
        (60, "1 minute"),
        (3 * 3600 + 120, "3 hours, 2 minutes"),
        (2 * 86400 + 5 * 3600 + 59, "2 days, 5 hours"),
        (86400 + 60, "1 day, 1 minute"),
    ],
)
def test_duration_wording(seconds: float, text: str) -> None:
    assert system._duration(seconds) == text


def test_network_info_lists_loopback() -> None:
    info = system.network_info(include_ports=False)
    assert "listening" not in info
    json.dumps(info)
    addresses = {a["address"] for i in info["interfaces"] for a in i["addresses"]}
    assert "127.0.0.1" in addresses
    names = [i["name"] for i in info["interfaces"]]
    assert set(names) == set(psutil.net_if_addrs())


@pytest.fixture
def listeners() -> Iterator[tuple[int, int]]:
    """A TCP socket listening and a UDP socket bound on loopback, on free ports."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        udp.bind(("127.0.0.1", 0))
        yield tcp.getsockname()[1], udp.getsockname()[1]
    finally:
        tcp.close()
        udp.close()


def test_network_info_finds_our_listening_ports(listeners: tuple[int, int]) -> None:
    tcp_port, udp_port = listeners
    info = system.network_info()
    if not info["listening"] and "administrator" in info.get("note", ""):
        pytest.skip("this OS hides listening sockets from normal users")
    rows = {(r["protocol"], r["port"]): r for r in info["listening"]}
    tcp = rows[("tcp", tcp_port)]
    assert tcp["address"] == "127.0.0.1"
    assert tcp["pid"] == os.getpid()
    assert tcp["process"] == psutil.Process().name()
    assert rows[("udp", udp_port)]["pid"] == os.getpid()
    json.dumps(info)


def test_network_info_degrades_when_connections_are_denied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def denied(kind: str = "inet") -> list[object]:
        raise psutil.AccessDenied()

    monkeypatch.setattr(psutil, "net_connections", denied)
    info = system.network_info()
    assert info["listening"] == []
    assert "administrator" in info["note"]
    assert info["interfaces"]
