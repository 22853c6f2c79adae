"""Export and import: JSON Lines, one record a line, exactly as `MemoryRecord.line` writes it.

An import restores what an export wrote, ids kept; an id already stored is skipped. A bad
line is reported with its number and the good lines are kept. Lines are stored in batches,
each one transaction, so an import that is killed keeps every batch it acknowledged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from llmos_shell.memory.records import MemoryRecord, from_json
from llmos_shell.memory.secrets import secret_reason
from llmos_shell.memory.store import MemoryStore

BATCH = 200


@dataclass
class ImportReport:
    """What an import did."""

    added: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def export_records(store: MemoryStore, out: IO[str]) -> int:
    """Write every record, oldest first; returns how many."""
    count = 0
    for record in store.records():
        out.write(record.line() + "\n")
        count += 1
    out.flush()
    return count


def import_records(
    store: MemoryStore, lines: Iterable[str], *, name: str = "input"
) -> ImportReport:
    """Store the records of JSON Lines; bad lines are reported (`name:line: why`)."""
    report = ImportReport()
    batch: list[MemoryRecord] = []
    seen: set[str] = set()

    def flush() -> None:
        if batch:
            added = store.add(batch, skip_existing=True)
            report.added += len(added)
            report.skipped += len(batch) - len(added)
            batch.clear()

    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = from_json(json.loads(line))
        except json.JSONDecodeError as exc:
            report.errors.append(f"{name}:{number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValueError as exc:
            report.errors.append(f"{name}:{number}: {exc}")
            continue
        reason = secret_reason(record.text)
        if reason:
            report.errors.append(f"{name}:{number}: not imported: {reason}")
            continue
        if record.id in seen:
            report.skipped += 1
            continue
        seen.add(record.id)
        batch.append(record)
        if len(batch) >= BATCH:
            flush()
    flush()
    return report
