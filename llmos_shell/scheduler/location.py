"""Where the job store is, decided without importing SQLAlchemy (the shell asks at start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmos_shell.config import LoadedConfig

if TYPE_CHECKING:
    from llmos_shell.scheduler.store import Store

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


def open_job_store(config: LoadedConfig) -> Store:
    """The job store, checked against what llmos last knew it held (StoreDamaged if it lost it)."""
    from llmos_shell.config.store_marker import StoreMarkers
    from llmos_shell.scheduler.store import Store

    return Store(store_url(config), markers=StoreMarkers(config.paths.state_dir))


def restore_job_store(config: LoadedConfig) -> str:
    """Put back the automations of a damaged job store from the copy kept in the state folder;
    returns the sentence that says what was done (raises StoreError when it cannot)."""
    from llmos_shell.config.store_marker import StoreMarkers
    from llmos_shell.errors import StoreDamaged, StoreError
    from llmos_shell.scheduler.store import Store, shown_url

    try:
        open_job_store(config)
    except StoreDamaged:
        pass
    else:
        return "the job store is not damaged; there is nothing to restore"
    url = store_url(config)
    markers = StoreMarkers(config.paths.state_dir)
    kept = markers.kept(shown_url(url))
    if kept is None or not kept[1]:
        raise StoreError(
            f"no copy of the automations of {shown_url(url)} was kept; move the old file back "
            f"from a backup, or remove its entry from {markers.path} to start afresh"
        )
    store = Store(url)
    if store.jobs():
        raise StoreError(
            f"the job store {shown_url(url)} now holds other automations; move it aside first, "
            "then run `llmos jobs restore` again"
        )
    store.markers = markers
    count = store.restore_jobs(kept[0], list(kept[1]))
    return f"restored {count} automation(s) into {shown_url(url)}"
