"""Repository-wide pytest setup: notebooks run in fast mode under the test suite."""

import os

import matplotlib

os.environ.setdefault("RISKSHARE_FAST", "1")
matplotlib.use("Agg")
