"""The what-if web app (Shiny for Python): controls on the left, the answer on the right.

Every change re-settles the agreement on the spend drawn at start-up
(:class:`riskshare.app.whatif.WhatIf`) and redraws the headline, the key
table, each partner's exposure and, when a setting is pinned, the comparison
with it. A value the model rejects shows its validation message beside its
control; the figures keep the last valid setting.
"""

from __future__ import annotations

import html
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskshare.app.whatif import SETTING, Control, SettingError, WhatIf

if TYPE_CHECKING:
    from riskshare.run import Result

__all__ = ["build_app", "figures_html", "serve"]

_CSS = """
body { font-family: system-ui, sans-serif; }
.rs-msg { color: #b00020; font-size: 0.85em; min-height: 0; margin: -0.6em 0 0.6em; }
.rs-headline p { font-size: 1.05em; margin: 0.3em 0 0.6em; }
table.rs-key { border-collapse: collapse; width: 100%; font-size: 0.92em; }
table.rs-key th, table.rs-key td { padding: 0.25em 0.5em; border-bottom: 1px solid #ddd; }
table.rs-key td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.rs-key th.rs-group-head { text-align: center; border-bottom: 1px solid #bbb; }
table.rs-key th.rs-num { text-align: right; }
table.rs-key td:first-child, table.rs-key th:first-child { text-align: left; }
.rs-note { color: #555; font-size: 0.85em; }
.rs-group { font-weight: 600; margin: 0.8em 0 0.3em; }
"""


def figures_html(result: Result) -> tuple[str, str]:
    """The headline paragraphs and the key table of a result, as HTML.

    Uses :func:`riskshare.report.headline.headlines` and
    :func:`~riskshare.report.headline.key_table`, so the app says what the
    report says, in the same words.
    """
    from riskshare.report.headline import expected_contributions, headlines, key_table

    summary = result.summary()
    paid = expected_contributions(result)
    lines = headlines(summary, result.model, contributions=paid)
    head = "".join(
        f'<p data-partner="{html.escape(h.partner)}">{html.escape(h.text)}</p>' for h in lines
    )
    table = key_table(summary, result.model, contributions=paid)
    rows = table.text_rows()
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
    )
    key = (
        f'<table class="rs-key"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'
        f'<p class="rs-note">{html.escape(table.precision)}</p>'
    )
    return head, key


def _comparison_html(pinned: Result, current: Result) -> str:
    """Pinned and current side by side: mean, P95 and chance above appetite, and the change."""
    from riskshare.config.names import partner_labels
    from riskshare.report.formats import chance, money_k

    a, b = pinned.summary(), current.summary()
    labels = partner_labels(current.model)
    measures = [("mean", "Expected (mean)"), ("p95", "1 in 20 (P95)")]
    if "prob_exceeds" in b.columns:
        measures.append(("prob_exceeds", "Chance above appetite"))
    head = (
        '<tr><th rowspan="2">Partner</th>'
        + "".join(f'<th colspan="3" class="rs-group-head">{h}</th>' for _, h in measures)
        + "</tr><tr>"
        + '<th class="rs-num">pinned</th><th class="rs-num">now</th><th class="rs-num">change</th>'
        * len(measures)
        + "</tr>"
    )
    rows = []
    for pid in b.index:
        cells = [f"<td>{html.escape(labels.get(pid, pid))}</td>"]
        for m, _ in measures:
            x, y = float(a.loc[pid, m]), float(b.loc[pid, m])
            fmt = chance if m.startswith("prob") else money_k
            change = (
                ""
                if x != x or y != y
                else (f"{100 * (y - x):+.1f} pts" if m.startswith("prob") else _signed(y - x))
            )
            cells += [f"<td>{fmt(x)}</td>", f"<td>{fmt(y)}</td>", f"<td>{change}</td>"]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="rs-key" id="pin-comparison"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        '<p class="rs-note">Both settled on the same simulated spend: the change is the '
        "setting's, not simulation noise.</p>"
    )


def _signed(x: float) -> str:
    from riskshare.report.formats import money_k

    text = money_k(abs(x))
    return f"{'-' if x < 0 else '+'}{text}"


def _input(c: Control) -> Any:
    from shiny import ui

    if c.unit == "choice":
        return ui.input_select(c.id, c.label, choices=list(c.choices), selected=str(c.value))
    step = 0.5 if c.unit == "percent" else 10
    return ui.input_numeric(c.id, c.label, value=c.value, step=step)


def build_app(whatif: WhatIf, *, title: str | None = None) -> Any:
    """The Shiny app of a :class:`WhatIf`.

    Parameters
    ----------
    whatif : WhatIf
        Spend drawn once.
    title : str, optional
        Page title (default: the config's name).

    Returns
    -------
    shiny.App
    """
    from shiny import App, reactive, render, ui

    controls = whatif.controls()
    sidebar: list[Any] = []
    group = None
    for c in controls:
        if c.group != group:
            group = c.group
            sidebar.append(ui.div(group, class_="rs-group"))
        sidebar += [_input(c), ui.output_ui(f"msg_{c.id}")]
    name = title or whatif.model.name
    page = ui.page_sidebar(
        ui.sidebar(*sidebar, width=380, title="Setting"),
        ui.tags.style(_CSS),
        ui.div(
            ui.input_action_button("pin", "Pin this setting"),
            ui.download_button("download_report", "Report (HTML)"),
            ui.download_button("download_workbook", "Workbook (Excel)"),
            *(
                [ui.download_button("download_pdf", "Report (PDF)")]
                if _pdf_writer() is not None
                else []
            ),
            class_="d-flex gap-2 flex-wrap mb-3",
        ),
        ui.h4("The answer"),
        ui.output_ui("headline"),
        ui.output_ui("keytable"),
        ui.output_ui("status"),
        ui.navset_underline(
            ui.nav_panel("Chance of paying more", ui.output_plot("exposure", height="380px")),
            ui.nav_panel("Distribution", ui.output_plot("distribution", height="380px")),
            id="charts",
        ),
        ui.output_ui("comparison"),
        title=name,
        fillable=False,
    )

    def server(input: Any, output: Any, session: Any) -> None:
        pinned: reactive.Value[tuple[dict[str, Any], Result] | None] = reactive.value(None)
        last_good: dict[str, Any] = {}

        def values() -> dict[str, Any]:
            return {c.id: input[c.id]() for c in controls}

        @reactive.calc
        def setting() -> tuple[dict[str, str], Result | None, float]:
            """(messages per control, the settled result or None, seconds)."""
            t0 = time.perf_counter()
            v = values()
            try:
                result = whatif.settle(whatif.model_at(v))
            except SettingError as exc:
                return exc.messages, None, time.perf_counter() - t0
            last_good["result"] = result
            return {}, result, time.perf_counter() - t0

        def current() -> Result:
            result = setting()[1]
            return result if result is not None else last_good["result"]

        def message_output(cid: str) -> None:
            def fn() -> Any:
                msg = setting()[0].get(cid)
                return ui.div(msg, class_="rs-msg", role="alert") if msg else None

            fn.__name__ = f"msg_{cid}"
            render.ui(fn)

        for c in controls:
            message_output(c.id)

        @reactive.calc
        def figures() -> tuple[str, str]:
            return figures_html(current())

        @render.ui
        def headline() -> Any:
            return ui.div(ui.HTML(figures()[0]), class_="rs-headline", id="headline-text")

        @render.ui
        def keytable() -> Any:
            return ui.HTML(figures()[1])

        @render.ui
        def status() -> Any:
            messages, _, seconds = setting()
            if SETTING in messages:
                text = (
                    f"Not settled: {messages[SETTING]}. The figures are the last valid setting's."
                )
            elif messages:
                text = "Not settled: a value is not allowed (see the message beside it)."
            else:
                text = (
                    f"Settled {whatif.n_sims:,} simulations on the same drawn spend "
                    f"(seed {whatif.seed}) in {1000 * seconds:.0f} ms."
                )
            return ui.p(text, class_="rs-note", id="settle-status")

        @render.plot(alt="Chance each partner pays more than £X over the agreement")
        def exposure() -> Any:
            from riskshare.report.plots import exceedance

            pin = pinned.get()
            results = {"now": current()} if pin is None else {"now": current(), "pinned": pin[1]}
            fig = exceedance(
                results if len(results) > 1 else current(),
                title="Chance of paying more than £X over the agreement",
            )
            fig.set_layout_engine("tight")  # Shiny sizes the figure itself
            return fig

        @render.plot(alt="Each partner's net position over the agreement, with P95 and TVaR95")
        def distribution() -> Any:  # drawn only while its tab is shown
            from riskshare.report.plots import distribution as histogram

            fig = histogram(current(), title="Net position over the agreement")
            fig.set_layout_engine("tight")
            return fig

        @reactive.effect
        @reactive.event(input.pin)
        def _pin() -> None:
            pinned.set((values(), current()))

        @render.ui
        def comparison() -> Any:
            pin = pinned.get()
            if pin is None:
                return ui.p("Pin a setting to compare the current one with it.", class_="rs-note")
            return ui.div(ui.h4("Pinned and now"), ui.HTML(_comparison_html(pin[1], current())))

        def export(write: Any, suffix: str) -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / f"export{suffix}"
                write(current(), path)
                return path.read_bytes()

        @render.download_button(filename="report.html")
        def download_report() -> Any:
            from riskshare.report.html import write_html

            yield export(write_html, ".html")

        @render.download_button(filename="results.xlsx")
        def download_workbook() -> Any:
            from riskshare.report.excel import write_excel

            yield export(write_excel, ".xlsx")

        @render.download_button(filename="report.pdf")
        def download_pdf() -> Any:
            yield export(_pdf_writer(), ".pdf")

    return App(page, server)


def _pdf_writer() -> Any:
    """A writer of the report as PDF, where the pdf extra is installed (else None).

    The PDF is printed by the report package's ``html_to_pdf`` (headless
    Chromium through Playwright's synchronous API), run in a worker thread
    because the app's own thread runs an event loop.
    """
    import importlib.util

    if importlib.util.find_spec("playwright") is None:  # the pdf extra is not installed
        return None
    from riskshare.report.pdf import html_to_pdf

    def write_pdf(result: Result, path: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from riskshare.report.html import write_html

        page = write_html(result, path.with_suffix(".html"))
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(html_to_pdf, page, path).result()

    return write_pdf


def serve(whatif: WhatIf, *, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the app until interrupted (local address only by default)."""
    import uvicorn

    uvicorn.run(build_app(whatif), host=host, port=port, log_level="warning")
