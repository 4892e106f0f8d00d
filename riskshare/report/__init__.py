"""Outputs for people and for other programs: tables, files, charts, Excel, HTML."""

from riskshare.report.files import atomic_folder, write_run

__all__ = ["atomic_folder", "write_run"]
