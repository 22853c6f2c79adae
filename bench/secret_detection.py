"""Precision and recall of the memory's secret detector on a labelled set of what people type.

Usage: python bench/secret_detection.py [bench/data/secrets_dev.jsonl ...]
Each line is {"text": ..., "secret": kind or null}. Prints the counts, precision, recall, and
every miss and false alarm with the reason given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from llmos_shell.memory.secrets import secret_reason

DEFAULT = Path(__file__).parent / "data" / "secrets_dev.jsonl"


def main(paths: list[str]) -> int:
    """Score every given set and print one summary line per set."""
    for name in paths or [str(DEFAULT)]:
        rows = [json.loads(line) for line in Path(name).read_text().splitlines() if line.strip()]
        tp = fp = fn = tn = 0
        for row in rows:
            reason = secret_reason(row["text"])
            if row["secret"] and reason:
                tp += 1
            elif row["secret"]:
                fn += 1
                print(f"  missed ({row['secret']}): {row['text']}")
            elif reason:
                fp += 1
                print(f"  false alarm ({reason}): {row['text']}")
            else:
                tn += 1
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(
            f"{Path(name).name}: {tp + fn} secrets, {fp + tn} ordinary; "
            f"precision {precision:.3f}, recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
