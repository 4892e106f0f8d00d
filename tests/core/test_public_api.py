"""The public API is what the docs promise (pinned, as chainladder does)."""

import importlib
import pkgutil
import subprocess
import sys

import riskshare as rs

EXPECTED_PUBLIC_API = [
    "Agreement",
    "Ledger",
    "Model",
    "Result",
    "SpendPaths",
    "Terms",
    "__version__",
    "check_balance",
    "compare",
    "explore",
    "fit",
    "load_config",
    "risk_allocation",
    "sample",
    "settle",
    "simulate",
    "simulate_until",
    "solve",
    "stress",
    "sweep",
    "tornado",
    "value_of_pooling",
    "with_changes",
    "write_excel",
    "write_html",
]


def test_public_api_is_pinned() -> None:
    assert sorted(rs.__all__) == sorted(EXPECTED_PUBLIC_API)
    # Every submodule imported first: importing a submodule must not replace a
    # public function of the same name (as riskshare.report.explore once was).
    for info in pkgutil.walk_packages(rs.__path__, "riskshare."):
        importlib.import_module(info.name)
    for package in (rs, rs.report, rs.analysis):
        for name in package.__all__:
            obj = getattr(package, name)
            if name == "__version__":
                assert isinstance(obj, str) and obj[0].isdigit()
            elif name.islower():  # functions (constants such as STATISTICS are upper case);
                assert callable(obj), name  # a submodule in its place would not be callable


def test_no_name_shadows_its_module() -> None:
    """``import riskshare.x.y as m`` gives the module y for every module (issue 10).

    (``riskshare.settle`` is the module itself, made callable, so it passes.)
    """
    for info in pkgutil.walk_packages(rs.__path__, "riskshare."):
        importlib.import_module(info.name)
    shadowed = []
    for name, module in list(sys.modules.items()):
        parent, _, child = name.rpartition(".")
        if name.startswith("riskshare.") and parent in sys.modules:
            attr = vars(sys.modules[parent]).get(child)
            if attr is not None and attr is not module:
                shadowed.append(name)
    assert shadowed == []


def test_report_explore_works_when_called_twice() -> None:
    model = rs.load_config("configs/benchmark.yaml")
    paths = rs.sample(model, n_sims=500, seed=3)
    first, _ = rs.report.explore(model, paths)
    second, _ = rs.report.explore(model, paths, contributions={"nhs": 1.1})
    assert callable(rs.report.explore)
    assert first.loc["nhs", "mean"] > second.loc["nhs", "mean"]


def test_importing_riskshare_does_not_import_matplotlib_or_the_analysis() -> None:
    code = (
        "import sys, riskshare; "
        "print('matplotlib' in sys.modules, 'riskshare.analysis' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_command_line_starts_and_runs_without_the_heavy_imports(tmp_path) -> None:
    # Importing the command line loads neither numpy nor pydantic; a whole run,
    # Parquet included, never imports pandas, SciPy or matplotlib.
    code = (
        "import sys\n"
        "import riskshare.cli\n"
        "print(sorted(m for m in ('numpy', 'pydantic') if m in sys.modules))\n"
        "from riskshare.cli.core import app, register_commands\n"
        "register_commands()\n"
        f"app(['run', 'configs/benchmark.yaml', '-n', '3000', '-q', '--out', r'{tmp_path}/r'],"
        " standalone_mode=False)\n"
        "print(sorted(m for m in ('pandas', 'scipy', 'matplotlib') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "[]"], out.stdout
    assert (tmp_path / "r" / "summary.csv").exists()


def test_settle_is_the_callable_module_whatever_was_imported_first() -> None:
    # No function shadows its module: riskshare.settle is the module, and calling it settles.
    code = (
        "import types, riskshare.run, riskshare as rs, riskshare.settle as m\n"
        "print(callable(rs.settle), rs.settle is m, isinstance(m, types.ModuleType), "
        "m.settle.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "riskshare.settle"]
