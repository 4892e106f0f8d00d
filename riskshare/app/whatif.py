"""The what-if engine behind ``riskshare app``: controls, a setting's model, its settlement.

Plain Python, no web library: the app (:mod:`riskshare.app.web`) and the tests
call the same functions. Spend is drawn once (:func:`riskshare.sample`);
every setting is re-settled on those draws (common random numbers), so a
change in the figures is the change of setting, not simulation noise, and a
setting's figures equal :func:`riskshare.simulate` of :meth:`WhatIf.model_at`
with the same simulations and seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskshare.errors import ConfigError, RiskshareError

if TYPE_CHECKING:
    from riskshare.config.model import Agreement, Model
    from riskshare.paths import SpendPaths
    from riskshare.run import Result

__all__ = ["Control", "SettingError", "WhatIf", "find_presets"]

#: The control naming the agreement preset.
PRESET = "preset"
#: Where a message about the setting as a whole is shown.
SETTING = "setting"
#: The preset that is the config's own agreement.
OWN = "the config's own"


@dataclass(frozen=True)
class Control:
    """One input of the app.

    Attributes
    ----------
    id : str
        Input id (letters, digits and underscores).
    label : str
        What the user reads beside it.
    path : str
        The config path it sets (validation messages at or under this path
        are shown beside it).
    value : float or str or None
        Its starting value (``None``: blank, meaning "as agreed").
    unit : str
        ``percent`` (entered as a percentage), ``thousands`` (£ thousands) or
        ``choice``.
    choices : tuple of str
        For ``choice``.
    group : str
        Heading it is shown under.
    optional : bool
        Whether it may be left blank.
    """

    id: str
    label: str
    path: str
    value: float | str | None
    unit: str
    choices: tuple[str, ...] = ()
    group: str = ""
    optional: bool = False


class SettingError(RiskshareError):
    """A setting the model rejects; ``messages`` maps control ids to what is allowed."""

    exit_code = 2

    def __init__(self, messages: Mapping[str, str]) -> None:
        self.messages = dict(messages)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.messages.items()))


def find_presets(config: str | Path) -> dict[str, Path]:
    """Agreement files beside a config: ``agreements/*.yaml`` and ``presets/*.yaml``.

    Returns
    -------
    dict of str to pathlib.Path
        By file stem, in name order.
    """
    folder = Path(config).resolve().parent
    files = sorted([*folder.glob("agreements/*.yaml"), *folder.glob("presets/*.yaml")])
    return {f"{p.parent.name}/{p.stem}": p for p in files}


def _fmt_pct(x: float) -> float:
    return round(100 * x, 6)


@dataclass
class WhatIf:
    """Spend drawn once, and each setting settled on it.

    Attributes
    ----------
    model : Model
        The config as loaded.
    paths : SpendPaths
        The drawn spend.
    seed : int
    presets : dict of str to pathlib.Path
        Agreement files offered by the preset control (those valid with the
        model's partners and groups).
    """

    model: Model
    paths: SpendPaths
    seed: int
    presets: dict[str, Path] = field(default_factory=dict)
    _agreements: dict[str, Agreement] = field(default_factory=dict, repr=False)

    @classmethod
    def start(
        cls,
        model: Model,
        n_sims: int | None = None,
        seed: int | None = None,
        presets: Mapping[str, Path] | None = None,
    ) -> WhatIf:
        """Draw the spend once.

        Parameters
        ----------
        model : Model
        n_sims, seed : int, optional
            Default: the config's.
        presets : mapping of str to pathlib.Path, optional
            Agreement files to offer (see :func:`find_presets`); those the
            model rejects are left out.
        """
        from riskshare.sampling import sample
        from riskshare.streams import resolve_seed

        n_sims = int(model.simulation.n_sims if n_sims is None else n_sims)
        seed = resolve_seed(model.simulation.seed if seed is None else seed)
        paths = sample(model, n_sims=n_sims, seed=seed)
        whatif = cls(model=model, paths=paths, seed=seed, presets=dict(presets or {}))
        whatif.presets = {k: p for k, p in whatif.presets.items() if whatif._fits(k)}
        return whatif

    def _fits(self, preset: str) -> bool:
        """Whether a preset's agreement is valid with this model's partners and groups."""
        try:
            self.agreement(preset)
        except SettingError:
            return False
        return True

    @property
    def n_sims(self) -> int:
        """Simulations drawn."""
        return int(self.paths.n_sims)

    # ------------------------------------------------------------------ controls
    def controls(self) -> list[Control]:
        """Every input, with its starting value: the config as loaded."""
        m, agr = self.model, self.model.agreement
        labels = {p.id: p.label for p in m.partners}
        out = [
            Control(
                PRESET, "Rule preset", "agreement", OWN, "choice", (OWN, *self.presets), "Rules"
            )
        ]
        for pid in m.partner_ids:
            out.append(
                Control(
                    f"contribution__{pid}",
                    f"{labels[pid]}: contributions, % of the config's",
                    f"contributions.{pid}",
                    100.0,
                    "percent",
                    group="Contributions",
                )
            )
        key = agr.overspend.key
        fixed = key if isinstance(key, Mapping) else {}
        for pid in m.partner_ids:
            value = _fmt_pct(fixed[pid]) if pid in fixed else None
            out.append(
                Control(
                    f"share__{pid}",
                    f"{labels[pid]}: share of overspend beyond the bands, %",
                    "agreement.overspend.key",
                    value,
                    "percent",
                    group="Shares (blank: as agreed)",
                    optional=True,
                )
            )
        caps = {c.partner: c for c in agr.caps if c.side == "overspend" and c.per == "year"}
        for pid in m.partner_ids:
            cap = caps.get(pid)
            value = cap.amount / 1e3 if cap is not None and cap.amount is not None else None
            out.append(
                Control(
                    f"cap__{pid}",
                    f"{labels[pid]}: most it pays towards an overspend in a year, £k",
                    "agreement.caps",
                    value,
                    "thousands",
                    group="Caps (blank: none)",
                    optional=True,
                )
            )
        reserve = agr.reserve
        out.append(
            Control(
                "reserve_opening",
                "Reserve at the start, £k",
                "agreement.reserve",
                0.0 if reserve is None else reserve.opening / 1e3,
                "thousands",
                group="Reserve",
            )
        )
        out.append(
            Control(
                "reserve_cap",
                "Largest reserve balance, £k (blank: no limit)",
                "agreement.reserve.cap",
                None if reserve is None or reserve.cap is None else reserve.cap / 1e3,
                "thousands",
                group="Reserve",
                optional=True,
            )
        )
        bands = agr.overspend.bands or []
        if bands and bands[0].upto is not None and agr.overspend.basis == "budget":
            out.append(
                Control(
                    "band0",
                    "First overspend band up to, % of the budget",
                    "agreement.overspend.bands",
                    _fmt_pct(bands[0].upto),
                    "percent",
                    group="Thresholds",
                )
            )
        for pid in m.partner_ids:
            value = m.appetite.get(pid)
            out.append(
                Control(
                    f"appetite__{pid}",
                    f"{labels[pid]}: risk appetite, £k (blank: none)",
                    f"appetite.{pid}",
                    None if value is None else value / 1e3,
                    "thousands",
                    group="Thresholds",
                    optional=True,
                )
            )
        return out

    def defaults(self) -> dict[str, Any]:
        """Each control's starting value."""
        return {c.id: c.value for c in self.controls()}

    # ------------------------------------------------------------------ a setting
    def agreement(self, preset: str) -> Agreement:
        """The agreement a preset names, validated with this model."""
        if preset in ("", OWN):
            return self.model.agreement
        if preset not in self._agreements:
            from riskshare.config.load import with_changes

            if preset not in self.presets:
                raise SettingError({PRESET: f"unknown preset '{preset}'"})
            try:
                agr = _read_agreement(self.presets[preset])
                data = {"agreement": agr.model_dump(mode="json", exclude_unset=True)}
                self._agreements[preset] = with_changes(self.model, data).agreement
            except RiskshareError as exc:
                raise SettingError({PRESET: str(exc)}) from None
        return self._agreements[preset]

    def model_at(self, values: Mapping[str, Any]) -> Model:
        """The model of a setting: the config with every control's value applied.

        Parameters
        ----------
        values : mapping of str to value
            Control id to value (missing ids keep their starting value; blank
            is ``None``).

        Raises
        ------
        SettingError
            Naming, per control, what the model does not allow.
        """
        from riskshare.config.load import with_changes

        start = self.defaults()
        v = {**start, **{k: values[k] for k in values if k in start}}
        messages: dict[str, str] = {}
        for c in self.controls():
            x = v[c.id]
            if c.unit != "choice" and not (_is_number(x) or (x is None and c.optional)):
                messages[c.id] = "enter a number"
        if messages:
            raise SettingError(messages)
        model = self.model
        preset = str(v[PRESET])
        if preset != OWN:
            model = model.model_copy(update={"agreement": self.agreement(preset)})
        changes = self._changes(model, v, start)
        if not changes:
            return model
        try:
            return with_changes(model, changes)
        except ConfigError as exc:
            moved = [k for k in start if v[k] != start[k]]
            raise SettingError(self._route(exc.problems, moved)) from None

    def _changes(self, model: Model, v: Mapping[str, Any], start: Mapping[str, Any]) -> dict:
        """Config changes (dotted paths) for the controls moved from their starting values."""
        ids = model.partner_ids
        agr = model.agreement
        changes: dict[str, Any] = {}
        sched = model.contribution_schedule()
        for i, pid in enumerate(ids):
            x = v[f"contribution__{pid}"]
            if x is None or float(x) != 100.0:
                factor = float("nan") if x is None else float(x) / 100
                amounts = [float(a) * factor for a in sched[:, i]]
                changes[f"contributions.{pid}"] = {"kind": "schedule", "amounts": amounts}
        shares = {pid: v[f"share__{pid}"] for pid in ids}
        if any(shares[p] != start[f"share__{p}"] for p in ids):
            changes["agreement.overspend.key"] = {
                p: float(s) / 100 for p, s in shares.items() if s is not None
            }
        caps_moved = any(v[f"cap__{p}"] != start[f"cap__{p}"] for p in ids)
        if caps_moved:
            host = next((p.id for p in model.partners if p.host), None)
            kept = [
                c.model_dump(mode="json")
                for c in agr.caps
                if not (c.side == "overspend" and c.per == "year")
            ]
            for pid in ids:
                amount = v[f"cap__{pid}"]
                if amount is not None:
                    kept.append(
                        {
                            "partner": pid,
                            "side": "overspend",
                            "per": "year",
                            "amount": float(amount) * 1e3,
                            "overflow": host if host not in (None, pid) else "unfunded",
                        }
                    )
            changes["agreement.caps"] = kept
        if (
            v["reserve_opening"] != start["reserve_opening"]
            or v["reserve_cap"] != start["reserve_cap"]
        ):
            reserve = {} if agr.reserve is None else agr.reserve.model_dump(mode="json")
            opening = v["reserve_opening"]
            reserve["opening"] = float("nan") if opening is None else float(opening) * 1e3
            cap = v["reserve_cap"]
            reserve["cap"] = None if cap is None else float(cap) * 1e3
            changes["agreement.reserve"] = reserve
        if "band0" in v and v["band0"] != start.get("band0"):
            x = v["band0"]
            changes["agreement.overspend.bands[0].upto"] = (
                float("nan") if x is None else float(x) / 100
            )
        if any(v[f"appetite__{p}"] != start[f"appetite__{p}"] for p in ids):
            changes["appetite"] = {
                p: float(v[f"appetite__{p}"]) * 1e3 for p in ids if v[f"appetite__{p}"] is not None
            }
        return changes

    def _route(self, problems: Sequence[tuple[str, str]], moved: Sequence[str]) -> dict[str, str]:
        """Each validation problem to the control it is about.

        The control whose config path the problem is at or under; a problem
        about the agreement as a whole (say, bands that no longer increase)
        goes to the controls just moved. One message per control.
        """
        controls = sorted(self.controls(), key=lambda c: -len(c.path))
        messages: dict[str, str] = {}
        for loc, msg in problems:
            target = next(
                (
                    c
                    for c in controls
                    if loc == c.path or loc.startswith((f"{c.path}.", f"{c.path}["))
                ),
                None,
            )
            if target is None or (target.id == PRESET and PRESET not in moved):
                ids = [k for k in moved if k != PRESET] or [PRESET]
            elif target.path in ("agreement.overspend.key", "agreement.caps"):
                group = target.id.split("__")[0] + "__"
                ids = [k for k in moved if k.startswith(group)][-1:] or [target.id]
            else:
                ids = [target.id]
            for cid in ids:
                messages.setdefault(cid, msg)
        return messages

    # ------------------------------------------------------------------ settling
    def settle(self, model: Model) -> Result:
        """Settle a setting's model on the drawn spend. [£]

        Raises
        ------
        SettingError
            Under ``"setting"`` when the settlement cannot apply the terms.
        """
        from riskshare.run import Result
        from riskshare.settle import settle

        try:
            ledger = settle(model, self.paths)
        except ValueError as exc:  # terms the settlement cannot apply (e.g. no contributions)
            raise SettingError({SETTING: str(exc)}) from None
        return Result.from_ledger(model, ledger, seed=self.seed)


def _read_agreement(path: Path) -> Agreement:
    """An agreement file's agreement, or a whole config's (the presets are whole configs)."""
    from riskshare.analysis.comparison import load_agreement
    from riskshare.config import load_config

    try:
        return load_agreement(path)
    except ConfigError:
        return load_config(path).agreement


def _is_number(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
