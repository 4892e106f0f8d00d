"""How fast the what-if app answers a change, at 100,000 simulations.

Two figures:

* **engine**: what one change costs the server — the setting's model
  (``WhatIf.model_at``), its settlement on the spend drawn once, the
  headline and key table, and the exposure chart drawn to PNG;
* **browser** (where Debian's chromium and playwright are installed): from
  typing a new contribution in headless Chromium to the headline showing the
  new figure, through ``riskshare app`` on a local port.

    uv run python benchmarks/bench_app.py [--sims 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import riskshare as rs
from riskshare.app.web import figures_html
from riskshare.app.whatif import WhatIf
from riskshare.report.plots import exceedance

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "section75_example.yaml"
CHROMIUM = Path("/usr/bin/chromium")


def engine(sims: int, repeat: int) -> list[float]:
    """Seconds per change, server side."""
    whatif = WhatIf.start(rs.load_config(CONFIG), n_sims=sims)
    times = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        model = whatif.model_at({"contribution__council": 100 + i})
        result = whatif.settle(model)
        figures_html(result)
        exceedance(result).savefig(io.BytesIO(), format="png")
        times.append(time.perf_counter() - t0)
    return times[1:]  # the first warms caches


def browser(sims: int, repeat: int) -> list[float]:
    """Seconds from typing a contribution to the new headline, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "from riskshare.cli import main; main()", "app", str(CONFIG)]
    proc = subprocess.Popen([*cmd, "--sims", str(sims), "--port", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    times = []
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            b = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
            )
            page = b.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            line = page.locator('#headline-text p[data-partner="council"]')
            line.wait_for(timeout=60_000)
            for i in range(repeat + 1):
                before = line.inner_text()
                t0 = time.perf_counter()
                page.fill("#contribution__council", str(101 + i))
                page.press("#contribution__council", "Tab")
                page.wait_for_function(
                    "([sel, old]) => { const e = document.querySelector(sel);"
                    " return e && e.innerText !== old; }",
                    arg=['#headline-text p[data-partner="council"]', before],
                    timeout=30_000,
                )
                page.wait_for_selector("#exposure img")
                times.append(time.perf_counter() - t0)
            b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    t = engine(args.sims, args.repeat)
    print(
        f"engine, {args.sims:,} simulations: median {statistics.median(t):.3f} s "
        f"(min {min(t):.3f}, max {max(t):.3f}) per change"
    )
    if CHROMIUM.exists():
        t = browser(args.sims, args.repeat)
        print(
            f"browser, {args.sims:,} simulations: median {statistics.median(t):.3f} s "
            f"(min {min(t):.3f}, max {max(t):.3f}) from typing to the new headline"
        )


if __name__ == "__main__":
    main()
