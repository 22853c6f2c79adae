"""Data files shipped with llmos_shell (see NOTICE.md)."""
