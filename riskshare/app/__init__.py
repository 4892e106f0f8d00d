"""The what-if app: ``riskshare app CONFIG`` (needs ``pip install 'riskshare[app]'``).

:mod:`riskshare.app.whatif` is the engine (plain Python: controls, a
setting's model, its settlement on spend drawn once); :mod:`riskshare.app.web`
is the browser app on Shiny for Python. Same level as the report: it uses
the report's headline, key table, charts and writers; only the command line
imports it.
"""
