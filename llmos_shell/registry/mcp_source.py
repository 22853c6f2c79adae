"""Tools from MCP servers: one source per `[mcp_servers.NAME]` table of config.toml.

Each source runs the `mcp` SDK's asyncio client on one event-loop thread of its own, started
when its tools are first listed; a tool's function hands the call to that loop and waits. A
server that does not start, answers too late or crashes is one warning and no tools; a
server that dies during a call is one failed call. Risk comes from the tools' annotations
(or the person's `tool_risk`), and nothing an MCP tool does can be undone by llmos.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pydantic

from llmos_shell.calls import ExecutionContext, Risk
from llmos_shell.errors import ToolError
from llmos_shell.registry.discovery import Registry
from llmos_shell.registry.specs import SPEC_NAME, normalize_schema
from llmos_shell.registry.tool import Tool

if TYPE_CHECKING:
    from llmos_shell.config.settings import McpServer

INSTALL_HINT = "pip install 'llmos-shell[mcp]'"
_WAIT_POLL_S = 0.05  # how often a waiting call looks at the person's cancel
# The SDK's JSON-RPC codes for a server gone away and for a request that got no answer in time
_CONNECTION_CLOSED, _REQUEST_TIMEOUT = -32000, -32001


def annotation_risk(annotations: Any) -> Risk:
    """The risk MCP's hints say: read-only, write (network when open-world), destructive,
    or unknown when the server says nothing (then a person is always asked)."""
    if annotations is None:
        return Risk.UNKNOWN
    read_only = getattr(annotations, "read_only_hint", None)
    destructive = getattr(annotations, "destructive_hint", None)
    if read_only is True:
        return Risk.READ_ONLY
    if destructive is True:
        return Risk.DESTRUCTIVE
    if read_only is False and destructive is False:
        return Risk.NETWORK if getattr(annotations, "open_world_hint", None) else Risk.WRITE
    return Risk.UNKNOWN  # MCP's defaults (destructive unless said otherwise) are not a yes


class _AnyArguments(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")


@dataclass(frozen=True, eq=False)
class McpTool(Tool):
    """A tool served by an MCP server: described by its JSON Schema, run through its session."""

    remote_name: str = ""

    @property
    def executable(self) -> bool:
        """MCP tools run (through their server)."""
        return True

    def invoke(self, arguments: Mapping[str, Any], context: ExecutionContext | None = None) -> Any:
        """Send the call to the server and return what it answers."""
        return self.func(dict(arguments), context or ExecutionContext())


class McpSource:
    """One MCP server's tools, behind `list_tools()`; `close()` ends its session."""

    def __init__(
        self,
        name: str,
        server: McpServer,
        *,
        timeout_s: float | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.server_name = name
        self.name = f"mcp:{name}"
        self.server = server
        self.timeout_s = timeout_s if timeout_s is not None else server.startup_timeout_sec
        self.log_dir = log_dir
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: Any = None
        self._stop: asyncio.Event | None = None
        self._ended: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._errlog: TextIO | None = None
        self._broken = False  # the server went away during a call
        self.skipped: list[str] = []  # tools whose names no planner can write
        _OPEN.add(self)

    def where(self) -> str:
        """The server as the person declared it: its command line or its URL."""
        if self.server.url:
            return self.server.url
        return " ".join([self.server.command or "", *self.server.args]).strip()

    def list_tools(self) -> list[Tool]:
        """Start the server if needed and read its tools; raises ToolError saying why not."""
        self._start()
        listing = self._run(self._list(), self.timeout_s, "list its tools")
        tools: list[Tool] = []
        self.skipped = [item.name for item in listing if not SPEC_NAME.match(item.name)]
        for item in listing:
            if item.name in self.skipped:
                continue
            declared = self.server.tool_risk.get(item.name)
            risk = Risk(declared) if declared is not None else annotation_risk(item.annotations)
            tools.append(
                McpTool(
                    name=item.name,
                    description=" ".join((item.description or item.name).split()),
                    args_model=_AnyArguments,
                    func=self._caller(item.name),
                    risk=risk,
                    reversible=False,
                    source=self.name,
                    schema=normalize_schema(item.input_schema, top=True),
                    in_process=True,
                    remote_name=item.name,
                )
            )
        return tools

    async def _list(self) -> list[Any]:
        client = self._client
        found: list[Any] = []
        cursor: str | None = None
        for _ in range(100):  # a server that pages forever is cut off
            page = await client.list_tools(cursor=cursor)
            found.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return found

    def _caller(self, remote: str) -> Any:
        def call(arguments: dict[str, Any], context: ExecutionContext) -> Any:
            return self.call(remote, arguments, context)

        return call

    def call(self, tool: str, arguments: dict[str, Any], context: ExecutionContext) -> Any:
        """Run one tool on the server; its answer as data, or a ToolError in one sentence."""
        if self._broken or self._client is None or self._ended.done():
            raise ToolError(
                f"MCP server {self.server_name!r} ({self.where()}) is not running, so {tool} "
                "cannot run; restart llmos to start it again"
            )
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(
            self._client.call_tool(
                tool, arguments, read_timeout_seconds=self.server.tool_timeout_sec
            ),
            self._loop,
        )
        while True:
            try:
                result = future.result(timeout=_WAIT_POLL_S)
                break
            except concurrent.futures.TimeoutError:
                if context.cancelled:
                    future.cancel()
                    raise ToolError(
                        f"{tool} on MCP server {self.server_name!r} was cancelled"
                    ) from None
            except Exception as exc:
                if getattr(exc, "code", None) == _REQUEST_TIMEOUT:
                    raise ToolError(
                        f"{tool} on MCP server {self.server_name!r} did not answer within "
                        f"{self.server.tool_timeout_sec:g} s (tool_timeout_sec in its table "
                        "sets this limit)"
                    ) from None
                if not (self._ended.done() or getattr(exc, "code", None) == _CONNECTION_CLOSED):
                    raise ToolError(
                        f"{tool} on MCP server {self.server_name!r} failed ({_said(exc)})"
                    ) from None
                self._broken = True
                self.close()  # reaps what is left of its process
                raise ToolError(
                    f"MCP server {self.server_name!r} ({self.where()}) stopped while running "
                    f"{tool} ({_said(exc)}); its tools are unavailable until llmos starts again"
                ) from None
        text = "\n".join(
            block.text for block in result.content if getattr(block, "type", "") == "text"
        )
        if result.is_error:
            raise ToolError(f"{tool} on MCP server {self.server_name!r}: {text or 'failed'}")
        structured = result.structured_content
        if isinstance(structured, dict) and set(structured) == {"result"}:
            return structured["result"]  # how SDK servers wrap a plain return value
        return structured if structured is not None else text

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                if self._ended.done():
                    raise ToolError(self._ended_reason("stopped"))
                return
            self._loop = asyncio.new_event_loop()
            ready: concurrent.futures.Future[None] = concurrent.futures.Future()
            self._thread = threading.Thread(
                target=self._loop_main,
                args=(ready,),
                name=f"llmos-mcp-{self.server_name}",
                daemon=True,
            )
            self._thread.start()
        try:
            ready.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            self.close()
            raise ToolError(
                f"did not start within {self.timeout_s:g} s (startup_timeout_sec in its table "
                "sets this limit)"
            ) from None
        except Exception as exc:
            self.close()
            raise ToolError(f"could not start ({_said(exc)})") from None

    def _loop_main(self, ready: concurrent.futures.Future[None]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._session(ready))
        except BaseException as exc:  # the session's end, whatever ended it
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
        finally:
            self._client = None
            if not self._ended.done():
                self._ended.set_result(None)
            with contextlib.suppress(Exception):
                self._loop.close()

    async def _session(self, ready: concurrent.futures.Future[None]) -> None:
        from mcp import Client

        self._stop = asyncio.Event()
        async with Client(self._transport(), read_timeout_seconds=None) as client:
            self._client = client
            ready.set_result(None)
            await self._stop.wait()

    def _transport(self) -> Any:
        server = self.server
        if server.url:
            from mcp.client.streamable_http import streamable_http_client

            return streamable_http_client(server.url)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        env = {key: os.path.expanduser(value) for key, value in server.env.items()}
        params = StdioServerParameters(
            command=server.command or "", args=list(server.args), env=env
        )
        return stdio_client(params, errlog=self._open_errlog())

    def _open_errlog(self) -> TextIO:
        """The server's stderr goes to <state dir>/mcp/NAME.log, not over the shell's screen."""
        if self.log_dir is not None:
            with contextlib.suppress(OSError):
                self.log_dir.mkdir(parents=True, exist_ok=True)
                self._errlog = open(self.log_dir / f"{self.server_name}.log", "a", encoding="utf-8")
                return self._errlog
        self._errlog = open(os.devnull, "w", encoding="utf-8")
        return self._errlog

    def _run(self, coroutine: Any, timeout: float, what: str) -> Any:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            self.close()
            raise ToolError(f"did not {what} within {timeout:g} s") from None
        except Exception as exc:
            self.close()
            raise ToolError(f"failed to {what} ({_said(exc)})") from None

    def _ended_reason(self, how: str) -> str:
        return f"{how}; restart llmos to start it again"

    def close(self) -> None:
        """End the session and the server's process (a stdio server), then the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            stop = self._stop
            if stop is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=8)  # the SDK gives a stdio server 2 s, then terms, then kills
        if self._errlog is not None:
            with contextlib.suppress(OSError):
                self._errlog.close()
        _OPEN.discard(self)


def _said(exc: BaseException) -> str:
    """An exception in a few words, the innermost of a group."""
    inner = getattr(exc, "exceptions", None)  # an exception group (3.11+, or anyio's backport)
    while inner:
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_OPEN: weakref.WeakSet[McpSource] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Servers are shut down when the process ends, whoever forgot to close them."""
    for source in list(_OPEN):
        with contextlib.suppress(Exception):
            source.close()


def add_servers(
    registry: Registry,
    servers: Mapping[str, McpServer],
    *,
    log_dir: Path | None = None,
    config_file: str = "config.toml",
) -> list[McpSource]:
    """Start every enabled server at once and add their tools; each failure is one warning."""
    wanted = {name: server for name, server in servers.items() if server.enabled}
    if not wanted:
        return []
    try:
        import mcp  # noqa: F401
    except ImportError:
        registry.warnings.append(
            f"{config_file} declares MCP servers ({', '.join(wanted)}), but the mcp package is "
            f"not installed; {INSTALL_HINT}"
        )
        return []
    sources = [McpSource(name, server, log_dir=log_dir) for name, server in wanted.items()]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(sources)) as pool:
        listings = list(pool.map(_listing, sources))
    for source, listing in zip(sources, listings, strict=True):
        if isinstance(listing, str):
            registry.warnings.append(
                f"MCP server {source.server_name!r} ({source.where()}) skipped: {listing}"
            )
            continue
        registry.sources.append(source)  # closed with the registry
        for item in listing:
            registry.add(item, source.name)
        if source.skipped:
            registry.warnings.append(
                f"MCP server {source.server_name!r}: skipped {', '.join(map(repr, source.skipped))}, "
                "whose names are not letters, digits, _ . and - (starting with a letter or _)"
            )
        unknown = sorted(set(source.server.tool_risk) - {t.name for t in listing})
        if unknown:
            registry.warnings.append(
                f"{config_file}: tool_risk of MCP server {source.server_name!r} names "
                f"{', '.join(unknown)}, which it does not offer; fix the names"
            )
    return [s for s, listing in zip(sources, listings, strict=True) if not isinstance(listing, str)]


def _listing(source: McpSource) -> list[Tool] | str:
    try:
        return source.list_tools()
    except ToolError as exc:
        return str(exc)


def close_all(sources: Sequence[McpSource]) -> None:
    """Close the given sources."""
    for source in sources:
        source.close()
