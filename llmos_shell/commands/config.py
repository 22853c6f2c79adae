"""`llmos config`: every setting, its value and where it came from, and the paths in use."""

from __future__ import annotations

import argparse
import json

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "Show the effective settings and where each one came from; with --profile NAME, "
    "what that profile of config.toml changes."
)


def run(args: argparse.Namespace) -> int:
    """Show each setting, its value and where it came from, and the paths in use."""
    from llmos_shell.config import render_toml_value

    app = base.make_app(args)
    config = app.config
    values = config.settings.model_dump(mode="json")
    paths = {
        "config_file": str(config.paths.config_file),
        "plugin_dir": str(config.plugin_dir),
        "data_dir": str(config.paths.data_dir),
        "history_file": str(config.paths.history_file),
        "audit_log": str(config.paths.audit_log),
        "undo_journal": str(config.paths.undo_journal),
    }
    marker = f"[profiles.{config.profile}]"
    changed = [k for k in values if config.sources[k].endswith(marker)] if config.profile else []
    if args.json:
        print(
            json.dumps(
                {
                    "settings": {
                        k: {"value": v, "source": config.sources[k]} for k, v in values.items()
                    },
                    "paths": paths,
                    "warnings": list(config.warnings),
                    "profile": config.profile,
                    "profile_changes": changed,
                },
                indent=2,
            )
        )
        return int(ExitStatus.OK)
    out = [f"# effective settings ({config.paths.config_file})"]
    if config.profile:
        what = ", ".join(changed) if changed else "nothing"
        out.append(f"# profile {config.profile} changes: {what}")
    for key, value in values.items():
        out.append(f"{key} = {render_toml_value(value)}  # {config.sources[key]}")
    out.append("")
    out.append("# paths")
    out.extend(f"# {key}: {value}" for key, value in paths.items())
    out.extend(f"# warning: {w}" for w in config.warnings)
    print("\n".join(out))
    return int(ExitStatus.OK)
