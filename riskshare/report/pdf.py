"""The report as an A4 PDF, printed by headless Chromium (the optional ``pdf`` extra).

Why Chromium through Playwright: the PDF is then the very page the browser
shows, laid out by the same engine (the report's print CSS, tables that do not
split, charts scaled to the page), so what a reader checks on screen is what
prints. Playwright is well kept (Microsoft, monthly releases) and already
drives the report's browser tests. WeasyPrint, the other well-kept choice,
needs Pango system libraries on Windows and lays out some CSS differently
from the browser the HTML is read in.

Chromium is Playwright's own (``playwright install chromium``) or, where that
is absent, a system Chromium or Chrome (``RISKSHARE_CHROMIUM`` names one).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from riskshare.errors import InputError

__all__ = ["find_chromium", "html_to_pdf"]

#: Executables tried, in order, when Playwright has no browser of its own.
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_HOW = (
    "a PDF needs Playwright and a Chromium: pip install 'riskshare[pdf]' then "
    "'playwright install chromium' (or set RISKSHARE_CHROMIUM to a Chrome or Chromium)"
)


def find_chromium() -> str | None:
    """A system Chromium or Chrome to print with: ``RISKSHARE_CHROMIUM``, else the first found."""
    named = os.environ.get("RISKSHARE_CHROMIUM")
    if named:
        return named
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print an HTML file to an A4 PDF with headless Chromium.

    Parameters
    ----------
    html_path : str or pathlib.Path
        A self-contained HTML file (the report).
    pdf_path : str or pathlib.Path
        The PDF to write (written to a temporary name, then renamed).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    riskshare.errors.InputError
        If Playwright is not installed or no Chromium can be started.
    """
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise InputError(_HOW) from None
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    args = ["--headless", "--no-sandbox", "--disable-gpu"]
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(args=args)
        except Error:
            exe = find_chromium()
            if exe is None:
                raise InputError(_HOW) from None
            try:
                browser = pw.chromium.launch(executable_path=exe, args=args)
            except Error as exc:
                raise InputError(f"{exe}: cannot start it to print the PDF ({exc})") from None
        try:
            page = browser.new_page()
            page.goto(html_path.as_uri())
            page.wait_for_load_state("load")
            page.pdf(path=str(tmp), format="A4", prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    tmp.replace(pdf_path)
    return pdf_path
