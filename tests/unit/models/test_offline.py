"""Offline is read from HF_HUB_OFFLINE and the kernel's routing table, never from a request."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_shell.models.advice import offline

HEADER = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
LOCAL_ONLY = HEADER + "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
DEFAULT = LOCAL_ONLY + "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
V6_DEFAULT = (
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
)
V6_LOOPBACK = V6_DEFAULT.replace("eth0", "lo")


def _tables(tmp_path: Path, v4: str, v6: str) -> tuple[Path, Path]:
    (tmp_path / "route").write_text(v4)
    (tmp_path / "ipv6_route").write_text(v6)
    return tmp_path / "route", tmp_path / "ipv6_route"


def test_a_default_route_is_online_and_none_is_offline(tmp_path: Path) -> None:
    assert not offline(_tables(tmp_path, DEFAULT, ""))
    assert not offline(_tables(tmp_path, LOCAL_ONLY, V6_DEFAULT))
    assert offline(_tables(tmp_path, LOCAL_ONLY, V6_LOOPBACK))
    assert not offline((tmp_path / "no-such-table",))  # cannot tell: only the variable counts


@pytest.mark.parametrize("value", ["1", "ON", "yes", "True"])
def test_hf_hub_offline_wins_over_any_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert offline(_tables(tmp_path, DEFAULT, V6_DEFAULT))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert not offline(_tables(tmp_path, DEFAULT, V6_DEFAULT))
