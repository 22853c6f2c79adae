"""Automations: time phrases, job specs, the job store, the unattended runner and the daemon.

Nothing here is imported by `llmos --help`; APScheduler and SQLAlchemy are imported only by
the modules that schedule and store jobs, and only when a command needs them.
"""
