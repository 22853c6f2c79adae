"""System tools: what machine this is, how loaded it is, and its network."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import psutil

from llmos_shell.calls import Risk
from llmos_shell.registry import tool
from llmos_shell.vocabulary.units import human_size


def _os_name() -> str:
    if sys.platform.startswith("linux"):
        try:
            release = platform.freedesktop_os_release()
        except OSError:
            return "Linux"
        return release.get("PRETTY_NAME") or release.get("NAME") or "Linux"
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]}".strip()
    return f"{platform.system()} {platform.release()}".strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _duration(seconds: float) -> str:
    """A span as people say it: "3 days, 4 hours" or "12 minutes"."""
    delta = timedelta(seconds=int(seconds))
    hours, rest = divmod(delta.seconds, 3600)
    minutes = rest // 60
    parts = [
        (delta.days, "day"),
        (hours, "hour"),
        (minutes, "minute"),
    ]
    words = [f"{count} {unit}{'s' if count != 1 else ''}" for count, unit in parts if count]
    return ", ".join(words[:2]) or "less than a minute"


def _battery() -> dict[str, Any] | None:
    try:
        battery = psutil.sensors_battery()
    except (AttributeError, NotImplementedError, OSError):
        return None
    if battery is None:
        return None
    left = battery.secsleft
    known = isinstance(left, (int, float)) and left >= 0 and not battery.power_plugged
    return {
        "percent": round(battery.percent, 1),
        "plugged_in": battery.power_plugged,
        "time_left": _duration(left) if known else None,
    }


def _memory(total: int, available: int, percent: float) -> dict[str, Any]:
    return {
        "total": total,
        "available": available,
        "percent_used": percent,
        "total_human": human_size(total),
        "available_human": human_size(available),
    }


@tool(
    headline=[
        (
            "memory ram",
            "{memory.available_human} of {memory.total_human} memory available ({memory.percent_used}% used)",
        ),
        ("uptime up boot", "up {uptime_human}, since {boot_time}"),
        ("cpu processor cores", "{cpu.model}: {cpu.cores_logical} cores"),
        ("battery", "battery at {battery.percent}%"),
        (
            "",
            "{os} on {architecture}, {cpu.cores_logical} cores, {memory.total_human} memory, up {uptime_human}",
        ),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("what os am I running", {}),
        ("how much ram do I have", {}),
        ("how long has this machine been up", {}),
        ("uname -a", {}),
        ("how's my battery", {}),
    ],
)
def system_info() -> dict[str, Any]:
    """Describe this computer: OS, kernel, CPU, memory, swap, uptime, battery and Python."""
    try:
        load = [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        load = None
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    boot = psutil.boot_time()
    uptime = max(0.0, time.time() - boot)
    return {
        "os": _os_name(),
        "kernel": f"{platform.system()} {platform.release()}",
        "architecture": platform.machine(),
        "hostname": socket.gethostname(),
        "cpu": {
            "model": _cpu_model(),
            "cores_physical": psutil.cpu_count(logical=False),
            "cores_logical": psutil.cpu_count(logical=True),
            "load_average_1_5_15": load,
        },
        "memory": _memory(memory.total, memory.available, memory.percent),
        "swap": {
            "total": swap.total,
            "used": swap.used,
            "percent_used": swap.percent,
            "total_human": human_size(swap.total),
            "used_human": human_size(swap.used),
        },
        "boot_time": datetime.fromtimestamp(boot).strftime("%Y-%m-%d %H:%M"),
        "uptime_s": int(uptime),
        "uptime_human": _duration(uptime),
        "battery": _battery(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


_FAMILIES = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
_LINK_FAMILY = getattr(psutil, "AF_LINK", None)


def _primary_address(interfaces: list[dict[str, Any]]) -> dict[str, Any]:
    """The address a person means by "my ip": the first IPv4 address of an interface that is
    up and not the loopback; and the names of the interfaces that are up."""
    up = [i for i in interfaces if i["up"]]
    out: dict[str, Any] = {
        "up": [i["name"] for i in up],
        "up_names": ", ".join(i["name"] for i in up),
    }
    for item in up:
        for address in item["addresses"]:
            if address["family"] == "ipv4" and not address["address"].startswith("127."):
                out.update(address=address["address"], address_interface=item["name"])
                return out
    return out


def _interfaces() -> list[dict[str, Any]]:
    stats = psutil.net_if_stats()
    interfaces: list[dict[str, Any]] = []
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        listed: list[dict[str, Any]] = []
        mac = None
        for address in addresses:
            if address.family == _LINK_FAMILY:
                mac = address.address
            elif address.family in _FAMILIES:
                listed.append(
                    {
                        "family": _FAMILIES[address.family],
                        "address": address.address.split("%", 1)[0],
                        "netmask": address.netmask,
                    }
                )
        stat = stats.get(name)
        interfaces.append(
            {
                "name": name,
                "up": bool(stat and stat.isup),
                "addresses": listed,
                "mac": mac,
                "speed_mbps": (stat.speed or None) if stat else None,
                "mtu": stat.mtu if stat else None,
            }
        )
    return interfaces


def _listening() -> tuple[list[dict[str, Any]], str | None]:
    """Listening TCP and bound UDP sockets; owners only where the OS lets us see them."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError):
        return [], "listening ports need administrator rights on this system"
    names: dict[int, str] = {}
    seen: set[tuple[str, str, int, int | None]] = set()
    rows: list[dict[str, Any]] = []
    hidden_owner = False
    for conn in connections:
        protocol = "tcp" if conn.type == socket.SOCK_STREAM else "udp"
        if protocol == "tcp" and conn.status != psutil.CONN_LISTEN:
            continue
        if protocol == "udp" and conn.raddr:
            continue
        if not conn.laddr:
            continue
        host, port = conn.laddr.ip, conn.laddr.port
        key = (protocol, host, port, conn.pid)
        if key in seen:
            continue
        seen.add(key)
        process = None
        if conn.pid is not None:
            if conn.pid not in names:
                try:
                    names[conn.pid] = psutil.Process(conn.pid).name()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    names[conn.pid] = ""
            process = names[conn.pid] or None
        else:
            hidden_owner = True
        rows.append(
            {
                "protocol": protocol,
                "address": host,
                "port": port,
                "pid": conn.pid,
                "process": process,
            }
        )
    rows.sort(key=lambda row: (row["protocol"], row["port"], row["address"]))
    note = "owners of some ports are hidden; they belong to other users" if hidden_owner else None
    return rows, note


@tool(
    headline=[
        (
            "port ports listening",
            "{listening.count} ports listening; the first: {listening.0.port} "
            "({listening.0.process})",
        ),
        (
            "port ports listening",
            "{listening.count} ports listening; the first: {listening.0.port}",
        ),
        ("ip address addresses", "{hostname} has the address {address} on {address_interface}"),
        ("up interface interfaces", "{up.count} of {interfaces.count} interfaces up: {up_names}"),
        ("", "{hostname}: {interfaces.count} network interfaces"),
    ],
    risk=Risk.READ_ONLY,
    examples=[
        ("what's my ip address", {"include_ports": False}),
        ("which ports are open on this machine", {}),
        ("what is listening on port 8080", {}),
        ("ifconfig", {"include_ports": False}),
    ],
)
def network_info(include_ports: bool = True) -> dict[str, Any]:
    """Show network interfaces with their addresses, and the ports programs listen on.

    Args:
        include_ports: also list listening TCP and UDP ports with the program behind each
    """
    interfaces = _interfaces()
    result: dict[str, Any] = {"hostname": socket.gethostname(), "interfaces": interfaces}
    result.update(_primary_address(interfaces))
    if include_ports:
        ports, note = _listening()
        result["listening"] = ports
        if note:
            result["note"] = note
    return result
