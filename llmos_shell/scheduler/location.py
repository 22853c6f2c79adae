"""Where the job store is, decided without importing SQLAlchemy (the shell asks at start)."""

from __future__ import annotations

from llmos_shell.config import LoadedConfig

SQLITE_NAME = "jobs.sqlite"


def store_url(config: LoadedConfig) -> str:
    """The job store's URL: `jobs_database_url`, else SQLite in the data dir."""
    url = config.settings.jobs_database_url.strip()
    if url:
        return url
    return f"sqlite:///{config.paths.data_dir / SQLITE_NAME}"


def store_exists(config: LoadedConfig) -> bool:
    """Whether there may be automations: a database is configured or the SQLite file exists."""
    if config.settings.jobs_database_url.strip():
        return True
    return (config.paths.data_dir / SQLITE_NAME).is_file()
