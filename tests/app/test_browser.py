"""``riskshare app`` in headless Chromium: move a contribution, see simulate's headline."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import riskshare as rs
from riskshare.app.whatif import WhatIf
from riskshare.report.formats import money_k
from riskshare.report.headline import headlines

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs" / "section75_example.yaml"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SIMS, SEED = 20_000, 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("shiny", reason="the app extra is not installed")
    port = _free_port()
    cmd = [sys.executable, "-c", "from riskshare.cli import main; main()", "app", str(EXAMPLE)]
    cmd += ["--sims", str(SIMS), "--seed", str(SEED), "--port", str(port)]
    log = tmp_path_factory.mktemp("app") / "server.log"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(log.read_text())
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _headline(page, partner: str) -> str:
    return page.inner_text(f'#headline-text p[data-partner="{partner}"]').strip()


def test_moving_a_contribution_shows_simulates_headline(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    model = rs.load_config(EXAMPLE)
    moved = WhatIf.start(model, n_sims=100, seed=SEED).model_at({"contribution__council": 110})
    moved_summary = rs.simulate(moved, n_sims=SIMS, seed=SEED).summary()
    want = headlines(moved_summary, moved)[0].text
    start_summary = rs.simulate(model, n_sims=SIMS, seed=SEED).summary()
    start = headlines(start_summary, model)[0].text
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server)
            council = page.locator('#headline-text p[data-partner="council"]')
            expect(council).to_have_text(start, timeout=30_000)
            page.fill("#contribution__council", "110")
            page.press("#contribution__council", "Tab")
            expect(council).to_have_text(want, timeout=10_000)
            # A value the model rejects: its message beside its control, no traceback.
            page.fill("#share__council", "70")
            page.fill("#share__icb", "60")
            page.press("#share__icb", "Tab")
            message = page.locator("#msg_share__icb")
            expect(message).to_contain_text("sum to 1", timeout=10_000)
            assert "Traceback" not in page.content()
            expect(council).to_have_text(want)  # the last valid setting stays
            page.fill("#share__council", "")
            page.fill("#share__icb", "")
            page.press("#share__icb", "Tab")
            expect(message).to_have_text("", timeout=10_000)
            # Pin, move, compare.
            page.click("#pin")
            page.fill("#contribution__council", "100")
            page.press("#contribution__council", "Tab")
            expect(council).to_have_text(start, timeout=10_000)
            comparison = page.locator("#pin-comparison tbody tr").first
            expect(comparison).to_be_visible(timeout=10_000)
            pinned_mean, now_mean = (
                float(moved_summary.loc["council", "mean"]),
                float(start_summary.loc["council", "mean"]),
            )
            expect(comparison).to_contain_text(
                f"{money_k(pinned_mean)}{money_k(now_mean)}", timeout=10_000
            )
            page.click("text=Distribution")
            expect(page.locator("#distribution img")).to_be_visible(timeout=10_000)
            page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
            # Exports are of the current setting.
            with page.expect_download() as report:
                page.click("#download_report")
            with page.expect_download() as workbook:
                page.click("#download_workbook")
            with page.expect_download(timeout=60_000) as pdf:
                page.click("#download_pdf")  # the pdf extra comes with the dev group
            report_text = Path(report.value.path()).read_text(encoding="utf-8")
            pdf_bytes = Path(pdf.value.path()).read_bytes()
            workbook_bytes = Path(workbook.value.path()).read_bytes()
        finally:
            browser.close()
    assert errors == []
    # The report is the current setting's: its council mean is simulate's.
    cells = [
        dict(re.findall(r'([\w-]+)="([^"]*)"', td)) for td in re.findall(r"<td[^>]*>", report_text)
    ]
    means = {
        float(c["data-value"])
        for c in cells
        if c.get("data-partner") == "council"
        and c.get("data-measure") == "mean"
        and "data-year" not in c
    }
    assert means == {float(start_summary.loc["council", "mean"])}
    assert workbook_bytes[:2] == b"PK" and len(workbook_bytes) > 5_000
    assert pdf_bytes[:5] == b"%PDF-" and len(pdf_bytes) > 10_000
    assert (tmp_path / "app.png").stat().st_size > 20_000
