"""Backup and restore of a school's data directory: `truongso backup` / `truongso restore` (archive.py)."""

from hub.backup.archive import BackupResult, Manifest, restore_backup, verify_backup, write_backup

__all__ = ["BackupResult", "Manifest", "restore_backup", "verify_backup", "write_backup"]
