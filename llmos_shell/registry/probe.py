"""Trying each plugin in a child process before the shell imports it.

A plugin runs its module's code when imported: one that hangs, calls `os._exit`, or declares a
tool whose schema cannot be built would take the shell down with it. So each plugin file (and
each installed entry point) is first imported by `python -m llmos_shell.registry.probe` with a
time limit (the setting `plugin_import_timeout_s`), in parallel; only those that pass are then
imported in the shell. A verdict is kept in the cache folder under the file's size, time and
hash, so an unchanged plugin is not tried again at the next start (one that timed out is, since
the machine may only have been busy). Built-ins are trusted.

The child is `python -m llmos_shell.registry.probe_child` (see there).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CACHE_FILE = "plugin-probes.json"
_CHILD = "llmos_shell.registry.probe_child"
_MAX_PARALLEL = 8


@dataclass(frozen=True)
class PluginSource:
    """One plugin to try: a file in the plugin folder, or an installed entry point."""

    label: str  # as the registry names it: "file:/path/x.py", "plugin:name"
    argv: tuple[str, ...]  # what the child is told to import
    file: Path | None  # the file whose content the verdict depends on
    stamp: str | None = None  # else what it depends on (an installed package's version)


def probe_all(
    sources: list[PluginSource], timeout_s: float, cache_dir: Path | None = None
) -> dict[str, str | None]:
    """Each source's verdict: None when it imported and its tools can be described, else
    why not, in a few words ("it did not finish importing within 5 s")."""
    cache = _read_cache(cache_dir)
    verdicts: dict[str, str | None] = {}
    todo: list[tuple[PluginSource, str | None]] = []
    for source in sources:
        key = _cache_key(source, timeout_s)
        if key is not None and key in cache:
            verdicts[source.label] = cache[key]
        else:
            todo.append((source, key))
    if todo:
        workers = min(_MAX_PARALLEL, len(todo))
        with concurrent.futures.ThreadPoolExecutor(workers, "llmos-plugin-probe") as pool:
            found = list(pool.map(lambda item: _probe(item[0], timeout_s), todo))
        for (source, key), (verdict, lasting) in zip(todo, found, strict=True):
            verdicts[source.label] = verdict
            if key is not None and lasting:
                cache[key] = verdict
        _write_cache(cache_dir, cache)
    return verdicts


def _probe(source: PluginSource, timeout_s: float) -> tuple[str | None, bool]:
    """The verdict on one source (None when it passed, else why not), and whether it lasts: a
    time-out may be a busy machine, so that plugin is tried again at the next start."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    # the shell's own import path, so the plugin finds what it would find here
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, sys.path)])
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", _CHILD, *source.argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group, so a time-out kills what it started
            env=env,
        )
    except OSError as exc:
        return f"it could not be tried in a separate process ({exc})", False
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        why = f"it did not finish importing within {timeout_s:g} s (the setting plugin_import_timeout_s)"
        return why, False
    for line in reversed(out.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                reply = json.loads(line)
            except ValueError:
                continue
            return reply.get("error") or None, True
    said = err.decode("utf-8", "replace").strip().splitlines()
    last = f": {said[-1][:200]}" if said else ""
    code = process.returncode
    if code is not None and code < 0:
        return f"its import was killed by {signal.Signals(-code).name}{last}", True
    return f"it ended the process while being imported (exit status {code}){last}", True


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()


def _cache_key(source: PluginSource, timeout_s: float) -> str | None:
    from llmos_shell import __version__

    tried = f"{__version__}|{timeout_s:g}"  # another llmos, or another limit: try it again
    if source.file is None:
        return None if source.stamp is None else f"{source.label}|{source.stamp}|{tried}"
    try:
        info = source.file.stat()
        digest = hashlib.sha256(source.file.read_bytes()).hexdigest()
    except OSError:
        return None
    return "|".join((source.label, str(info.st_mtime_ns), str(info.st_size), digest, tried))


def _read_cache(cache_dir: Path | None) -> dict[str, str | None]:
    if cache_dir is None:
        return {}
    try:
        data = json.loads((cache_dir / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache_dir: Path | None, cache: dict[str, str | None]) -> None:
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = cache_dir / f".{CACHE_FILE}.{os.getpid()}"
        temporary.write_text(json.dumps(cache, indent=0), encoding="utf-8")
        os.replace(temporary, cache_dir / CACHE_FILE)
    except OSError:
        pass  # a cache that cannot be written costs a probe at the next start, nothing more
