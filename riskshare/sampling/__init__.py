"""Monte Carlo spend paths: client demand and cost, shocks, correlation, charging.

:func:`sample` draws the spend of every client group, year and simulation from
a validated :class:`~riskshare.config.model.Model`; :func:`sample_block` draws
one fixed-size block of simulations (the unit of reproducibility). Both also
draw the model-level random quantities the agreement needs: performance
metrics (``SpendPaths.metrics``) and integration savings
(``SpendPaths.savings``). Both return :class:`~riskshare.paths.SpendPaths`.
The block plan and drawing live in :mod:`riskshare.sampling.blocks`, the pure
kernels in :mod:`riskshare.sampling.draws`.
"""

from riskshare.sampling.blocks import sample, sample_block

__all__ = ["sample", "sample_block"]
