"""MCP servers the tests start as real processes, and finding them a loopback port."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:PORT."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
