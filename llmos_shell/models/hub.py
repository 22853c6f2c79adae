"""Downloading models from the Hugging Face hub into its shared cache, through huggingface_hub.

One GGUF file (`hf_hub_download`) or a whole repository (`snapshot_download`) lands in the
same cache transformers and llama-cpp-python use, so a model pulled by any of them is found
by the others. Resuming a dropped connection, retries and progress bars are the library's.
Ours:

- One cheap request that is not retried goes first: offline, the library would retry for
  about 20 seconds before failing; here an unreachable hub is one sentence at once.
- A failure is one sentence, and leaves nothing behind but a partial download worth resuming.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from llmos_shell.errors import DownloadError, causes
from llmos_shell.models.names import is_repo_id


@dataclass(frozen=True)
class PullResult:
    """Where a pulled model now is, and what to call it in `llmos models use`."""

    path: Path
    name: str
    already_there: bool = False


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


def repo_files(repo: str, *, endpoint: str | None = None) -> list[str]:
    """The file names in a repository, from one request that fails at once when offline."""
    from huggingface_hub import HfApi

    check_repo(repo)
    try:
        info = HfApi(endpoint=endpoint).model_info(repo)
    except Exception as exc:
        raise _explain(exc, repo, repo, endpoint) from None
    return [sibling.rfilename for sibling in info.siblings or []]


def pull_file(
    repo: str,
    filename: str,
    cache_dir: Path,
    *,
    endpoint: str | None = None,
    progress: bool = False,
) -> PullResult:
    """Download one file of `repo` into the hub cache; a file already there is not asked for."""
    from huggingface_hub import (
        get_hf_file_metadata,
        hf_hub_download,
        hf_hub_url,
        try_to_load_from_cache,
    )

    check_repo(repo)
    relative = check_filename(filename)
    name = f"{repo}/{relative}"
    cached = try_to_load_from_cache(repo, str(relative), cache_dir=cache_dir)
    if isinstance(cached, str):
        return PullResult(path=Path(cached), name=name, already_there=True)
    what = f"{relative} from {repo}"
    try:
        get_hf_file_metadata(hf_hub_url(repo, str(relative), endpoint=endpoint), endpoint=endpoint)
    except Exception as exc:
        raise _explain(exc, what, repo, endpoint) from None
    with _leftovers_removed(cache_dir, repo), _quiet(not progress):
        try:
            path = Path(
                hf_hub_download(repo, str(relative), cache_dir=cache_dir, endpoint=endpoint)
            )
        except Exception as exc:
            raise _explain(exc, what, repo, endpoint) from None
        if relative.suffix.lower() == ".gguf" and not _starts_like_gguf(path):
            raise DownloadError(
                f"what the hub sent for {what} is not a GGUF file; check the file name"
            )
    return PullResult(path=path, name=name)


def pull_repo(
    repo: str, cache_dir: Path, *, endpoint: str | None = None, progress: bool = False
) -> PullResult:
    """Download a whole repository into the hub cache."""
    from huggingface_hub import snapshot_download

    repo_files(repo, endpoint=endpoint)  # says at once when the hub cannot be reached
    with _leftovers_removed(cache_dir, repo), _quiet(not progress):
        try:
            folder = snapshot_download(repo, cache_dir=cache_dir, endpoint=endpoint)
        except Exception as exc:
            raise _explain(exc, repo, repo, endpoint) from None
    return PullResult(path=Path(folder), name=repo)


# --- what a failure leaves, and says ----------------------------------------------------------


def _storage(cache_dir: Path, repo: str) -> Path:
    """The repository's folder in the hub cache, as huggingface_hub names it."""
    return cache_dir / ("models--" + repo.replace("/", "--"))


@contextlib.contextmanager
def _leftovers_removed(cache_dir: Path, repo: str) -> Iterator[None]:
    """On a failure, remove the folders this pull created, unless a partial download that the
    library keeps for resuming is in them (huggingface_hub before 2.x kept one)."""
    storage = _storage(cache_dir, repo)
    locks = cache_dir / ".locks" / storage.name
    created = [p for p in (storage, locks, cache_dir / ".locks", cache_dir) if not p.exists()]
    try:
        yield
    except BaseException:
        blobs = storage / "blobs"
        partials = list(blobs.glob("*.incomplete")) if blobs.is_dir() else []
        if not any(p.stat().st_size for p in partials):
            for empty in partials:
                empty.unlink(missing_ok=True)
            for folder in created:  # the deepest first
                if folder in (storage, locks):
                    shutil.rmtree(folder, ignore_errors=True)
                    continue
                with contextlib.suppress(OSError):
                    if folder == cache_dir:  # the library marks a cache folder it creates
                        (folder / "CACHEDIR.TAG").unlink(missing_ok=True)
                    folder.rmdir()  # only when empty: other repositories may be there
        raise


@contextlib.contextmanager
def _quiet(quiet: bool) -> Iterator[None]:
    """No progress bars and no retry warnings where nobody watches them (or in --json)."""
    if not quiet:
        yield
        return
    from huggingface_hub.utils import logging

    # from their own module: huggingface_hub.utils builds __all__ at run time, which mypy cannot read
    from huggingface_hub.utils.tqdm import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    level = logging.get_verbosity()
    bars_were_off = are_progress_bars_disabled()
    disable_progress_bars()
    logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # unannotated upstream
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if not bars_were_off:
            enable_progress_bars()


def _starts_like_gguf(path: Path) -> bool:
    with path.open("rb") as handle:
        if handle.read(4) == b"GGUF":
            return True
    blob = path.resolve()
    path.unlink()
    blob.unlink(missing_ok=True)
    return False


def _explain(exc: BaseException, what: str, repo: str, endpoint: str | None) -> DownloadError:
    """One sentence for a failed request: offline, not found, needs a login, or other."""
    if isinstance(exc, DownloadError):
        return exc
    kinds = {kind.__name__ for cause in causes(exc) for kind in type(cause).__mro__}
    status = _status(exc)
    host = urlsplit(_endpoint(endpoint)).netloc
    if "OfflineModeIsEnabled" in kinds:
        return DownloadError(
            f"cannot download {what} because HF_HUB_OFFLINE is set; unset it to download, or "
            "copy the file onto this machine and pass its path"
        )
    if "GatedRepoError" in kinds or (
        status in (401, 403) and "RepositoryNotFoundError" not in kinds
    ):
        return DownloadError(
            f"{what} needs a login (HTTP {status or 403} from {host}); accept the model's "
            "terms on the hub and set HF_TOKEN to an access token"
        )
    if kinds & {"RepositoryNotFoundError", "RevisionNotFoundError"}:
        return DownloadError(
            f"the hub has no repository {repo} (or it is private; HTTP {status or 404} from "
            f"{host}); check the name, or set HF_TOKEN for a private one"
        )
    if status == 404 or ("EntryNotFoundError" in kinds and "LocalEntryNotFoundError" not in kinds):
        return DownloadError(
            f"the hub has no {what} (HTTP 404 from {host}); check the spelling against the "
            "repository's file list on the hub"
        )
    if status is not None:
        return DownloadError(f"the hub ({host}) answered HTTP {status} for {what}; try again later")
    if kinds & _NETWORK_ERRORS:
        return DownloadError(
            f"cannot download {what} because the hub is not reachable ({host}: {_detail(exc)}); "
            "check the network connection, or copy the file onto this machine and pass its path"
        )
    return DownloadError(f"downloading {what} failed ({_detail(exc)}); try again")


# Class names, so that the exceptions of any version of huggingface_hub and its HTTP library
# are recognised without importing them.
_NETWORK_ERRORS = {
    "ConnectError",
    "ConnectTimeout",
    "ConnectionError",
    "TimeoutException",
    "NetworkError",
    "gaierror",
    "LocalEntryNotFoundError",
    "TimeoutError",
}


def _status(exc: BaseException) -> int | None:
    for cause in causes(exc):
        response: Any = getattr(cause, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _detail(exc: BaseException) -> str:
    """The innermost cause, on one short line."""
    inner = list(causes(exc))[-1]
    text = " ".join(str(inner).split()) or type(inner).__name__
    text = text.split(" (Request ID")[0]
    return text if len(text) <= 120 else text[:119] + "…"


def _endpoint(endpoint: str | None) -> str:
    from huggingface_hub import constants

    return endpoint or constants.ENDPOINT


# --- choosing the file ------------------------------------------------------------------------

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
