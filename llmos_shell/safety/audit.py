"""The audit log: every call that reached a decision, one JSON object a line."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llmos_shell.calls import Decision, ToolCall, ToolResult


class AuditLog:
    """Appends records to a JSONL file; a failing disk is reported, never fatal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def record(
        self,
        *,
        request: str,
        call: ToolCall,
        decision: Decision,
        approved_by: str | None,
        result: ToolResult | None,
    ) -> None:
        """Append one record: time, request, call, decision, who approved, outcome."""
        entry: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "request": request,
            "call": call.to_json(),
            "decision": {
                "verdict": decision.verdict.value,
                "risk": decision.risk.value,
                "reason": decision.reason,
            },
            "approved_by": approved_by,
        }
        if result is None:
            entry["outcome"] = {"status": "not run"}
        elif result.ok:
            entry["outcome"] = {"status": "ok", "duration_s": round(result.duration_s, 3)}
        else:
            entry["outcome"] = {
                "status": "error",
                "error": result.error,
                "duration_s": round(result.duration_s, 3),
            }
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
                self.last_error = None
            except OSError as exc:
                self.last_error = f"cannot write the audit log {self.path} ({exc.strerror})"

    def read(self) -> list[dict[str, Any]]:
        """All records, oldest first (lines that do not parse are skipped)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records
