"""Axis names and array aliases shared by every module.

Arrays inside riskshare are plain :class:`numpy.ndarray` in one fixed axis
order; labels are attached only at the edges (``to_frame``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Axes of spend paths: simulation, agreement year, client group.
SPEND_DIMS = ("sim", "year", "group")
#: Axes of ledger flows: simulation, agreement year, partner.
FLOW_DIMS = ("sim", "year", "partner")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
