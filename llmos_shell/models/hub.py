"""Downloading models from the Hugging Face hub: one GGUF file, or a whole repository.

A single file comes over plain HTTPS (`/REPO/resolve/main/FILE`), into a `.part` file that
a later run resumes, renamed only when complete. A whole repository goes into the hub cache
through huggingface_hub, when it is installed. `HF_ENDPOINT` moves the hub, as it does for
huggingface_hub itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path, PurePosixPath

from llmos_shell.errors import DownloadError
from llmos_shell.models.names import is_repo_id

DEFAULT_ENDPOINT = "https://huggingface.co"
CONNECT_TIMEOUT_S = 20.0
CHUNK_BYTES = 1 << 20

Progress = Callable[[int, "int | None"], None]
"""Called with (bytes so far, total bytes or None) as a download goes."""


@dataclass(frozen=True)
class PullResult:
    """Where a pulled model now is, and what to call it in `llmos models use`."""

    path: Path
    name: str
    already_there: bool = False


def hub_endpoint() -> str:
    """The hub's base URL: HF_ENDPOINT when set, else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _token() -> str | None:
    return os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or None


def check_repo(repo: str) -> None:
    """Refuse a repository name that is not ORG/NAME before any request is made."""
    if not is_repo_id(repo):
        raise DownloadError(
            f"{repo!r} is not a hub repository name; write it as ORG/NAME, "
            "e.g. Qwen/Qwen2.5-0.5B-Instruct-GGUF"
        )


def check_filename(filename: str) -> PurePosixPath:
    """A file path inside a repository; absolute paths and `..` are refused."""
    path = PurePosixPath(filename)
    if not filename or path.is_absolute() or ".." in path.parts or "\\" in filename:
        raise DownloadError(
            f"{filename!r} is not a file name inside the repository; give it as the hub lists "
            "it, e.g. qwen2.5-0.5b-instruct-q4_k_m.gguf"
        )
    return path


def _request(url: str, headers: dict[str, str] | None = None) -> urllib.request.Request:
    request = urllib.request.Request(url, headers={"User-Agent": "llmos", **(headers or {})})
    token = _token()
    if token:
        # Unredirected: the hub sends files from a CDN that must not see the token.
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    return request


def _network_error(exc: BaseException, url: str, what: str) -> DownloadError:
    """One sentence for a failed request: offline, not found, needs a login, or other."""
    host = urllib.parse.urlsplit(url).netloc or url
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 404:
            return DownloadError(
                f"the hub has no {what} (HTTP 404 from {host}); check the spelling against the "
                "repository's file list on the hub"
            )
        if exc.code in (401, 403):
            return DownloadError(
                f"{what} needs a login (HTTP {exc.code} from {host}); accept the model's terms "
                "on the hub and set HF_TOKEN to an access token"
            )
        return DownloadError(f"the hub answered HTTP {exc.code} for {what}; try again later")
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        detail = f"{host} cannot be resolved"
    elif isinstance(reason, (TimeoutError, socket.timeout)):
        detail = f"{host} did not answer in time"
    else:
        detail = f"{host}: {getattr(reason, 'strerror', None) or reason}"
    return DownloadError(
        f"cannot download {what} because the hub is not reachable ({detail}); check the "
        "network connection, or copy the file onto this machine and pass its path"
    )


def list_repo_files(repo: str, *, endpoint: str | None = None) -> list[str]:
    """The file names in a repository, from the hub's model API."""
    check_repo(repo)
    url = f"{endpoint or hub_endpoint()}/api/models/{repo}"
    try:
        with urllib.request.urlopen(_request(url), timeout=CONNECT_TIMEOUT_S) as response:
            data = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, HTTPException) as exc:
        raise _network_error(exc, url, f"repository {repo}") from None
    except ValueError:
        raise DownloadError(f"the hub's answer about {repo} is not JSON; try again later") from None
    siblings = data.get("siblings") if isinstance(data, dict) else None
    if not isinstance(siblings, list):
        raise DownloadError(f"the hub's answer about {repo} lists no files; try again later")
    return [str(s["rfilename"]) for s in siblings if isinstance(s, dict) and "rfilename" in s]


def pull_file(
    repo: str,
    filename: str,
    dest_dir: Path,
    *,
    endpoint: str | None = None,
    on_progress: Progress | None = None,
) -> PullResult:
    """Download one file of `repo` into `dest_dir`, resuming a `.part` file left before."""
    check_repo(repo)
    relative = check_filename(filename)
    dest = dest_dir / relative.name
    if dest.exists():
        return PullResult(path=dest, name=dest.name, already_there=True)
    part = dest.with_name(dest.name + ".part")
    quoted = urllib.parse.quote(str(relative))
    url = f"{endpoint or hub_endpoint()}/{repo}/resolve/main/{quoted}"
    what = f"{filename} from {repo}"
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = urllib.request.urlopen(_request(url, headers), timeout=CONNECT_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part file is longer than the file: start over
            part.unlink()
            return pull_file(repo, filename, dest_dir, endpoint=endpoint, on_progress=on_progress)
        raise _network_error(exc, url, what) from None
    except (urllib.error.URLError, OSError, HTTPException) as exc:
        raise _network_error(exc, url, what) from None
    with response:
        resumed = have > 0 and response.status == 206
        start = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        try:
            dest_dir.mkdir(parents=True, exist_ok=True)
            handle = part.open("ab" if resumed else "wb")
        except OSError as exc:
            raise DownloadError(
                f"cannot write {part} ({exc.strerror}); free some space or fix the folder's "
                "permissions"
            ) from None
        done = start
        try:
            with handle:
                if on_progress:
                    on_progress(done, total)
                while chunk := response.read(CHUNK_BYTES):
                    handle.write(chunk)
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total)
        except (OSError, HTTPException) as exc:
            raise _stopped(part, done, what, exc) from None
    if total is not None and done < total:
        raise _stopped(part, done, what, f"{total - done} bytes short")
    if relative.suffix.lower() == ".gguf":
        with part.open("rb") as check:
            if check.read(4) != b"GGUF":
                part.unlink()
                raise DownloadError(
                    f"what the hub sent for {what} is not a GGUF file; check the file name"
                )
    os.replace(part, dest)
    return PullResult(path=dest, name=dest.name)


def _stopped(part: Path, done: int, what: str, reason: object) -> DownloadError:
    if done == 0:
        part.unlink(missing_ok=True)  # nothing worth resuming
        return DownloadError(f"the download of {what} failed ({reason}); try again")
    return DownloadError(
        f"the download of {what} stopped after {done / 1e6:.1f} MB ({reason}); run the same "
        f"command again to resume from {part.name}"
    )


def pull_repo(repo: str, cache_dir: Path, *, endpoint: str | None = None) -> PullResult:
    """Download a whole repository into the hub cache, through huggingface_hub."""
    import importlib.util

    check_repo(repo)
    if importlib.util.find_spec("huggingface_hub") is None:
        raise DownloadError(
            f"downloading the whole repository {repo} needs huggingface_hub; run "
            "`pip install huggingface_hub`, or name one GGUF file: llmos models pull REPO FILE"
        )
    from huggingface_hub import snapshot_download

    storage = cache_dir / ("models--" + repo.replace("/", "--"))
    existed = storage.exists()
    try:
        folder = snapshot_download(
            repo_id=repo, cache_dir=str(cache_dir), endpoint=endpoint or hub_endpoint()
        )
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if not existed:
            shutil.rmtree(storage, ignore_errors=True)  # nothing half-downloaded is left
        raise _hub_library_error(exc, repo) from None
    return PullResult(path=Path(folder), name=repo)


def _hub_library_error(exc: Exception, repo: str) -> DownloadError:
    kinds = {type(c).__name__ for c in _causes(exc)}
    if kinds & {"RepositoryNotFoundError", "RevisionNotFoundError"}:
        return DownloadError(
            f"the hub has no repository {repo} (or it is private); check the name, or set "
            "HF_TOKEN for a private one"
        )
    if "GatedRepoError" in kinds:
        return DownloadError(
            f"{repo} needs a login; accept the model's terms on the hub and set HF_TOKEN"
        )
    if kinds & {
        "LocalEntryNotFoundError",
        "IncompleteSnapshotError",
        "ConnectError",
        "ConnectionError",
        "TimeoutException",
        "OfflineModeIsEnabled",
        "gaierror",
    }:
        host = urllib.parse.urlsplit(hub_endpoint()).netloc
        return DownloadError(
            f"cannot download {repo} because the hub ({host}) is not reachable; check the "
            "network connection and try again"
        )
    return DownloadError(f"downloading {repo} failed ({type(exc).__name__}: {exc}); try again")


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


_SPLIT_PART = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)


def split_parts(filename: str) -> list[str]:
    """Every part of a split GGUF model named by any one of its parts; else the name alone."""
    match = _SPLIT_PART.match(filename)
    if not match:
        return [filename]
    total = int(match["total"])
    return [f"{match['stem']}-{i:05d}-of-{total:05d}.gguf" for i in range(1, total + 1)]


def pick_gguf(repo: str, files: list[str]) -> str | None:
    """The one GGUF file of a GGUF repository; None when the repository holds no GGUF file.

    Several GGUF files (one per quantization) cannot be guessed between: that is one sentence
    listing them.
    """
    ggufs = sorted(f for f in files if f.lower().endswith(".gguf"))
    firsts = [f for f in ggufs if split_parts(f)[0] == f]
    if not firsts:
        return None
    if len(firsts) == 1:
        return firsts[0]
    shown = ", ".join(firsts[:6]) + (f" and {len(firsts) - 6} more" if len(firsts) > 6 else "")
    raise DownloadError(
        f"{repo} holds {len(firsts)} GGUF models; name the one you want, e.g. "
        f"`llmos models pull {repo} {firsts[0]}` (files: {shown})"
    )
