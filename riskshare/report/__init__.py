"""Outputs for people and for other programs: tables, files, charts, Excel, HTML.

Charts need matplotlib and are imported on first use, so that importing
riskshare (and the command line) stays quick.
"""

from __future__ import annotations

from typing import Any

from riskshare.report.files import atomic_folder, write_run

__all__ = ["atomic_folder", "explore", "write_excel", "write_html", "write_run"]


def write_html(result: Any, path: Any, **kwargs: Any) -> Any:
    """Write the self-contained HTML report; see :func:`riskshare.report.html.write_html`."""
    from riskshare.report.html import write_html as _write_html

    return _write_html(result, path, **kwargs)


def write_excel(result: Any, path: Any, **kwargs: Any) -> Any:
    """Write the Excel workbook; see :func:`riskshare.report.excel.write_excel`."""
    from riskshare.report.excel import write_excel as _write_excel

    return _write_excel(result, path, **kwargs)


def explore(model: Any, paths: Any, **kwargs: Any) -> Any:
    """Re-settle on drawn paths with changes; see :func:`riskshare.report.explorer.explore`."""
    from riskshare.report.explorer import explore as _explore

    return _explore(model, paths, **kwargs)
