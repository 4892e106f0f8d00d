"""The what-if app command: ``riskshare app CONFIG``."""

from __future__ import annotations

from typing import Annotated

import typer

from riskshare.cli.core import ConfigArg, SetOpt, app
from riskshare.errors import InputError


@app.command("app")
def app_command(
    config: ConfigArg,
    sims: Annotated[
        int | None,
        typer.Option("--sims", "-n", min=1, help="Simulations drawn once (default: the config's)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Random seed.")] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Local port.")] = 8050,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this computer only).")
    ] = "127.0.0.1",
    set_: SetOpt = None,
) -> None:
    """Start the what-if app in the browser: move the terms, see each partner's exposure.

    Contributions, shares, caps, the reserve, thresholds and the rule preset;
    every change is re-settled on the same simulated spend (drawn once at
    start). Needs the optional app extra: uv run --extra app riskshare app CONFIG.
    """
    try:
        import shiny  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(
            "riskshare app needs the app extra: pip install 'riskshare[app]' "
            "(or: uv run --extra app riskshare app CONFIG)"
        ) from None
    from riskshare.app.web import serve
    from riskshare.app.whatif import WhatIf, find_presets
    from riskshare.cli.limits import check_sims
    from riskshare.config import load_config

    model = load_config(config, set_ or ())
    sims = check_sims(model, sims)
    typer.echo(f"{model.name}: drawing {sims:,} simulations once...")
    whatif = WhatIf.start(model, n_sims=sims, seed=seed, presets=find_presets(config))
    typer.echo(f"riskshare app on http://{host}:{port}/ (Ctrl-C to stop)")
    serve(whatif, host=host, port=port)
