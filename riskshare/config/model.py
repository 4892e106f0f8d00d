"""Typed, immutable model of a riskshare configuration file.

A configuration has four parts:

* ``partners`` and ``client_groups`` with their demand and cost models
  (what is uncertain);
* ``contributions``: what each partner puts in each year;
* ``agreement``: how overspends and underspends are shared and what the
  reserve does;
* ``simulation``: years, first financial year, number of simulations, seed.

Every model is a frozen pydantic model that forbids unknown keys, so a typo is
an error that names the field. Money is in pounds, rates are fractions a year
(``0.03`` is 3 %), and years are indices ``0 .. years-1`` of the agreement.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "Across",
    "AggregateSpend",
    "Agreement",
    "Band",
    "CaseSplitRow",
    "CaseSplits",
    "ClientGroup",
    "ClientsSpend",
    "CommonShock",
    "Contribution",
    "Correlation",
    "CostModel",
    "CountModel",
    "FixedSpend",
    "Forecast",
    "HighCost",
    "Instalments",
    "Minimum",
    "Model",
    "OutturnContribution",
    "Partner",
    "PersistentShock",
    "RebasedContribution",
    "RecoveryCost",
    "Reporting",
    "Reserve",
    "Schedule",
    "ScheduleRules",
    "Sharing",
    "Simulation",
    "StepChange",
    "Trigger",
    "Uncertain",
]

Identifier = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$",
        max_length=64,
        description="Identifier: letters, digits, '_' or '-', starting with a letter or '_'.",
    ),
]
#: The largest amount accepted anywhere (a trillion pounds): larger values are typos
#: (or units in pence) and would overflow the arithmetic of a long agreement.
MAX_MONEY = 1e12

Money = Annotated[float, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False, description="Amount. [£]")]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Rate = Annotated[
    float,
    Field(gt=-1, le=10, allow_inf_nan=False, description="Annual rate, 0.03 is 3 % a year."),
]
#: The smallest non-zero coefficient of variation: below it the variance (cv²)
#: underflows and the spend is constant in all but name; use 0 for that.
MIN_CV = 1e-6


def _cv(value: float) -> float:
    if 0 < value < MIN_CV:
        raise ValueError(f"a coefficient of variation is 0 (none) or at least {MIN_CV:g}")
    return value


CV = Annotated[
    float,
    Field(ge=0, le=20, allow_inf_nan=False, description="Coefficient of variation."),
    AfterValidator(_cv),
]


#: Tolerance on the sum of an accrual profile's twelve monthly shares.
PROFILE_TOLERANCE = 1e-6


def _profile_sums_to_one(value: list[float]) -> list[float]:
    total = sum(value)
    if abs(total - 1.0) > PROFILE_TOLERANCE:
        raise ValueError(
            f"the twelve monthly shares of an accrual profile must sum to 1 (they sum to {total:g})"
        )
    return value


AccrualProfile = Annotated[
    list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]],
    Field(
        min_length=12,
        max_length=12,
        description="Share of the year's spend accrued in each month of the financial year "
        "(April first): twelve fractions summing to 1. Default: flat (1/12 a month).",
    ),
    AfterValidator(_profile_sums_to_one),
]


def _sum_to_one(shares: dict[str, float], empty: str, what: str) -> dict[str, float]:
    """``shares`` if they are not empty and sum to 1, else the error (``empty``, ``what``)."""
    if not shares:
        raise ValueError(empty)
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"{what} must sum to 1 (they sum to {total:g})")
    return shares


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- partners


class Partner(_Frozen):
    """A partner to the agreement: a council, an ICB, an NHS trust."""

    id: Identifier
    name: str | None = Field(None, description="Display name; defaults to the id.")
    host: bool = Field(False, description="Whether this partner hosts the pooled fund.")

    @property
    def label(self) -> str:
        """Display name."""
        return self.name or self.id


# --------------------------------------------------------------------------- uncertainty


class Uncertain(_Frozen):
    """A rate known only approximately: drawn once per simulation.

    A bad trend drawn for a simulation persists in every year of it
    (parameter uncertainty), beside the year-to-year noise of the model.
    """

    mean: float = Field(gt=-1, le=10, allow_inf_nan=False, description="Central value. [per year]")
    sd: float = Field(
        ge=0, le=1, allow_inf_nan=False, description="Standard deviation (normal). [per year]"
    )


RateSpec = Annotated[
    Rate | Uncertain,
    Field(description="A rate a year, or {mean, sd} drawn once per simulation."),
]


def _rate_mean(r: float | Uncertain) -> float:
    return r.mean if isinstance(r, Uncertain) else float(r)


# --------------------------------------------------------------------------- demand and cost

Persistence = Annotated[
    float,
    Field(
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Persistence φ of the log-deviation from year to year (AR(1)): 0 draws "
        "every year afresh; 0 < φ < 1 keeps each year's mean and CV and correlates year t "
        "with year t+k by φ^k; 1 is a random walk (each year's deviation stays for good, "
        "so the CV grows with the year). See docs/sampling.md.",
    ),
]


class PersistentShock(_Frozen):
    """A mean-one multiplicative shock a year whose log follows an AR(1) (docs/sampling.md).

    ``F_t = exp(σ X_t - σ² v_t / 2)`` with ``σ² = ln(1 + cv²)``, ``X_0 = Z_0``
    and ``X_t = φ X_{t-1} + sqrt(1 - φ²) Z_t`` (``v_t = 1``) for φ < 1, or
    ``X_t = X_{t-1} + Z_t`` (``v_t = t + 1``) for φ = 1.
    """

    cv: float = Field(
        ge=MIN_CV, le=2, allow_inf_nan=False, description="CV of the factor in one year. [fraction]"
    )
    persistence: Persistence = 0.0


class CountModel(_Frozen):
    """Number of clients a year.

    ``poisson``: N ~ Poisson(mean). ``negative_binomial``: over-dispersed, with
    variance ``mean + mean**2 / dispersion``. With ``exit_rate`` the clients
    form a stock carried from year to year (each stays with probability
    ``1 - exit_rate``), topped up by new entrants so that the expected number
    follows ``mean * (1 + growth)**t``.
    """

    distribution: Literal["poisson", "negative_binomial"] = "poisson"
    mean: float = Field(
        gt=0, le=1e8, allow_inf_nan=False, description="Expected clients in year 0."
    )
    dispersion: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Negative binomial size parameter r (variance = mean + mean²/r).",
    )
    growth: RateSpec = Field(0.0, description="Annual demand growth.")
    exit_rate: Fraction | None = Field(
        None,
        description="Persistent stock: fraction of clients leaving each year. "
        "None: clients are drawn afresh each year.",
    )
    shock: PersistentShock | None = Field(
        None,
        description="A shock to the volume rate: the expected number of clients (of "
        "entrants, for a persistent stock) is multiplied by it each year.",
    )

    @model_validator(mode="after")
    def _dispersion_matches(self) -> CountModel:
        if self.distribution == "negative_binomial" and self.dispersion is None:
            raise ValueError("negative_binomial needs 'dispersion' (> 0)")
        if self.distribution == "poisson" and self.dispersion is not None:
            raise ValueError("'dispersion' applies only to distribution: negative_binomial")
        return self


class CostModel(_Frozen):
    """Annual cost of one client (lognormal or gamma by mean and CV)."""

    distribution: Literal["lognormal", "gamma"] = "lognormal"
    mean: float = Field(
        gt=0,
        le=MAX_MONEY,
        allow_inf_nan=False,
        description="Mean annual cost per client in year 0. [£]",
    )
    cv: CV = Field(description="Coefficient of variation of the cost per client.")
    inflation: RateSpec = Field(0.0, description="Annual cost inflation.")
    shock: PersistentShock | None = Field(
        None,
        description="A shock to the unit-cost level: every client's cost that year "
        "(the carried stock's too) is multiplied by it.",
    )


class HighCost(_Frozen):
    """Rare, very expensive placements: Poisson arrivals, each cost drawn exactly."""

    rate: float = Field(
        gt=0, le=1000, allow_inf_nan=False, description="Expected placements a year."
    )
    distribution: Literal["lognormal", "pareto"] = "lognormal"
    mean: float = Field(
        gt=0, le=MAX_MONEY, allow_inf_nan=False, description="Mean annual cost of a placement. [£]"
    )
    cv: CV | None = Field(None, description="Lognormal: coefficient of variation.")
    minimum: float | None = Field(
        None,
        gt=0,
        le=MAX_MONEY,
        allow_inf_nan=False,
        description="Pareto: the smallest cost (scale). [£]",
    )
    growth: RateSpec = Field(0.0, description="Annual growth of the arrival rate.")
    inflation: RateSpec = Field(0.0, description="Annual inflation of the cost.")

    @model_validator(mode="after")
    def _params(self) -> HighCost:
        if self.distribution == "lognormal" and self.cv is None:
            raise ValueError("lognormal high-cost placements need 'cv'")
        if self.distribution == "pareto":
            if self.minimum is None:
                raise ValueError("pareto high-cost placements need 'minimum'")
            if self.minimum >= self.mean:
                raise ValueError(
                    f"pareto 'minimum' ({self.minimum:g}) must be below 'mean' ({self.mean:g})"
                )
        return self


class ClientsSpend(_Frozen):
    """Group spend = sum over a random number of clients of random annual costs."""

    model: Literal["clients"] = "clients"
    clients: CountModel
    cost: CostModel


class AggregateSpend(_Frozen):
    """Group spend known only in aggregate: one draw a year by mean and CV."""

    model: Literal["aggregate"] = "aggregate"
    distribution: Literal["lognormal", "gamma", "normal"] = "lognormal"
    mean: float = Field(
        gt=0, le=MAX_MONEY, allow_inf_nan=False, description="Expected spend in year 0. [£]"
    )
    cv: CV = Field(description="Coefficient of variation of the year's spend.")
    growth: RateSpec = Field(0.0, description="Annual growth of expected spend (demand and price).")
    persistence: Persistence = 0.0

    @model_validator(mode="after")
    def _walk_needs_normal_scores(self) -> AggregateSpend:
        if self.distribution == "gamma" and self.persistence == 1:
            raise ValueError(
                "persistence 1 (a random walk) needs distribution lognormal or normal; "
                "a gamma group allows persistence below 1"
            )
        return self


class FixedSpend(_Frozen):
    """Spend with no randomness (worked examples, contracted block payments)."""

    model: Literal["fixed"] = "fixed"
    amounts: list[Money] | None = Field(None, description="Spend in each year. [£]")
    amount: Money | None = Field(None, description="Spend in year 0, grown by 'growth'. [£]")
    growth: float = Field(0.0, gt=-1, le=10, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_of(self) -> FixedSpend:
        if (self.amounts is None) == (self.amount is None):
            raise ValueError("give exactly one of 'amounts' (one per year) or 'amount'")
        return self


SpendModel = Annotated[ClientsSpend | AggregateSpend | FixedSpend, Field(discriminator="model")]


class StepChange(_Frozen):
    """A known price change from a given year on (e.g. a National Living Wage uplift)."""

    year: int = Field(ge=0, description="First agreement year (0-based) the change applies to.")
    factor: float = Field(
        gt=0, le=10, allow_inf_nan=False, description="Multiplier, 1.098 is +9.8 %."
    )


class ChargingIncome(_Frozen):
    """Client charging income (council groups): a share of gross cost, uncertain."""

    rate: Fraction = Field(description="Expected income as a fraction of gross spend.")
    cv: CV = Field(0.0, description="Year-to-year CV of the rate (lognormal).")


class CaseSplitRow(_Frozen):
    """One agreed split of a case between partners and how often cases get it."""

    shares: dict[Identifier, Fraction] = Field(
        description="{partner: share} of each such case's cost (shares sum to 1)."
    )
    probability: float = Field(
        gt=0, le=1, allow_inf_nan=False, description="Fraction of cases split this way."
    )

    @field_validator("shares")
    @classmethod
    def _shares_sum_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        return _sum_to_one(v, "give at least one partner's share", "a case's shares")


class CaseSplits(_Frozen):
    """How each case of a group is split between partners, agreed per case (R2, R4).

    Mental Health Act s117 aftercare and joint continuing-care packages: a
    panel agrees each case's split ``α_i`` (partner shares summing to 1), and
    partner p's cost of the group is ``Σ_i α_{i,p} X_i``. The group's
    ``commissioners`` are the expected split ``E[α]`` (what each partner
    budgets for). Give exactly one of:

    * ``concentration`` κ: each case's split is Dirichlet(κ · E[α]) (a Beta
      for two partners): ``Var(α_p) = E[α_p](1 − E[α_p]) / (κ + 1)``; large κ
      keeps every case near the expected split, small κ spreads cases towards
      all-or-nothing;
    * ``table``: a small list of agreed splits (50/50, 70/30, 100/0) with the
      fraction of cases that get each; its mean must equal ``commissioners``.

    For an aggregate or fixed group the whole year's spend is one split drawn
    this way. See docs/sampling.md §14 and docs/rules.md (case splits).
    """

    concentration: float | None = Field(
        None,
        gt=0,
        le=1e6,
        allow_inf_nan=False,
        description="Dirichlet concentration κ of a case's split around the commissioners' "
        "shares: Var(α_p) = E[α_p](1 − E[α_p]) / (κ + 1).",
    )
    table: list[CaseSplitRow] | None = Field(
        None, min_length=1, description="Agreed splits with the fraction of cases of each."
    )

    @model_validator(mode="after")
    def _one_of(self) -> CaseSplits:
        if (self.concentration is None) == (self.table is None):
            raise ValueError("give exactly one of 'concentration' (Dirichlet) or 'table'")
        if self.table is not None:
            total = sum(row.probability for row in self.table)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"the table's probabilities must sum to 1 (they sum to {total:g})")
        return self

    def mean(self) -> dict[str, float]:
        """The table's expected split ``{partner: E[α_p]}`` (``table`` only)."""
        out: dict[str, float] = {}
        for row in self.table or ():
            for pid, share in row.shares.items():
                out[pid] = out.get(pid, 0.0) + row.probability * share
        return out


class ClientGroup(_Frozen):
    """A client group: one budget line of the pooled fund."""

    id: Identifier
    name: str | None = None
    commissioners: Identifier | dict[Identifier, Fraction] = Field(
        description="The partner whose function this group is, or {partner: share} for a "
        "jointly commissioned group (shares sum to 1)."
    )
    spend: SpendModel
    high_cost: HighCost | None = None
    step_changes: list[StepChange] = Field(default_factory=list)
    charging: ChargingIncome | None = None
    accrual: AccrualProfile | None = Field(
        None,
        description="How this group's spend accrues over the year (twelve monthly shares "
        "summing to 1, e.g. a winter peak); default: the agreement's 'accrual', else flat.",
    )
    cases: CaseSplits | None = Field(
        None,
        description="Each case's cost split between partners per case (s117 aftercare, "
        "joint continuing care); 'commissioners' is then the expected split. With "
        "'clients.exit_rate' a case keeps its split while it stays.",
    )

    @property
    def label(self) -> str:
        """Display name."""
        return self.name or self.id

    @model_validator(mode="after")
    def _cases_fit(self) -> ClientGroup:
        if self.cases is None:
            return self
        if self.cases.table is not None:
            mean = self.cases.mean()
            shares = self.commissioner_shares
            pids = sorted(set(mean) | set(shares))
            if any(abs(mean.get(p, 0.0) - shares.get(p, 0.0)) > 1e-6 for p in pids):
                table = ", ".join(f"{p}: {mean.get(p, 0.0):.6g}" for p in pids)
                raise ValueError(
                    f"'commissioners' must be the expected split of 'cases.table' ({{{table}}})"
                )
        return self

    @property
    def commissioner_shares(self) -> dict[str, float]:
        """``{partner id: share}`` of this group's function (sums to 1)."""
        if isinstance(self.commissioners, str):
            return {self.commissioners: 1.0}
        return dict(self.commissioners)

    @field_validator("commissioners")
    @classmethod
    def _shares_sum_to_one(cls, v: Any) -> Any:
        if isinstance(v, dict):
            _sum_to_one(v, "give at least one commissioning partner", "commissioning shares")
        return v


class CommonShock(_Frozen):
    """A multiplicative shock a year shared by several groups (so they move together).

    ``F_t = exp(s X_t - s² v_t / 2)`` with ``E[F_t] = 1``: ``X_t`` is an AR(1)
    of standard normals with persistence φ (``v_t = 1``; φ = 0, the default,
    draws every year afresh) or a random walk when φ = 1 (``v_t = t + 1``).
    """

    id: Identifier
    cv: float = Field(
        ge=MIN_CV, le=2, allow_inf_nan=False, description="Approximate CV s of the shock."
    )
    groups: Literal["all"] | list[Identifier] = Field(
        "all", description="The groups it multiplies: 'all' or a list of ids."
    )
    persistence: Persistence = 0.0


class Correlation(_Frozen):
    """Correlation between groups' (and performance metrics') year-to-year noise (Gaussian copula).

    ``matrix`` is over ``groups`` then ``metrics``, in that order. A
    performance metric in ``metrics`` is correlated with the groups' yearly
    normals (its own draws stay on its own stream, so the groups' draws are
    the same with or without it); see ``docs/sampling.md`` §6 and §11.
    """

    groups: list[Identifier] = Field(min_length=1)
    metrics: list[Identifier] = Field(
        default_factory=list,
        description="Performance metrics correlated with the groups (rows and columns of "
        "'matrix' after the groups').",
    )
    matrix: list[list[float]]

    @property
    def names(self) -> list[str]:
        """The rows of ``matrix``: the groups, then the metrics."""
        return [*self.groups, *self.metrics]

    @model_validator(mode="after")
    def _is_correlation_matrix(self) -> Correlation:
        k = len(self.names)
        if k < 2:
            raise ValueError("list at least two groups, or a group and a metric")
        if len(set(self.names)) != k:
            raise ValueError("'groups' and 'metrics' list an id twice")
        m = np.asarray(self.matrix, dtype=float)
        what = f"{k} groups" if not self.metrics else f"{k} groups and metrics"
        if m.shape != (k, k):
            raise ValueError(f"'matrix' must be {k}x{k} for {what} (got shape {m.shape})")
        if not np.all(np.isfinite(m)):
            raise ValueError("'matrix' has non-finite entries")
        if not np.allclose(m, m.T, atol=1e-12):
            raise ValueError("'matrix' must be symmetric")
        if not np.allclose(np.diag(m), 1.0, atol=1e-12):
            raise ValueError("'matrix' must have ones on the diagonal")
        if np.any(np.abs(m) > 1):
            raise ValueError("'matrix' entries must lie in [-1, 1]")
        eig = np.linalg.eigvalsh(m)
        if eig.min() < -1e-10:
            raise ValueError(
                f"'matrix' is not positive semi-definite (smallest eigenvalue {eig.min():.3g})"
            )
        return self


# --------------------------------------------------------------------------- contributions


class Minimum(_Frozen):
    """A floor a contribution never falls below: the Better Care Fund NHS minimum.

    The floor is ``base · (1 + growth)^t`` in year ``t``. A contribution fixed
    in advance that falls below it is refused by validation; a contribution
    re-set each year (``rebased``, ``outturn``) is raised to it.
    """

    base: Money = Field(description="The minimum in year 0. [£]")
    growth: float = Field(
        0.0,
        ge=-0.5,
        le=1,
        allow_inf_nan=False,
        description="Annual growth of the minimum (BCF 2023-25: 0.0566).",
    )


class ScheduleContribution(_Frozen):
    """An explicit amount for each year."""

    kind: Literal["schedule"] = "schedule"
    amounts: list[Money] = Field(min_length=1, description="One amount per year. [£]")
    minimum: Minimum | None = None


class UpliftContribution(_Frozen):
    """A base amount in year 0 with an annual uplift."""

    kind: Literal["uplift"] = "uplift"
    base: Money = Field(description="Contribution in year 0. [£]")
    uplift: float = Field(0.0, gt=-1, le=1, allow_inf_nan=False, description="Annual uplift.")
    minimum: Minimum | None = None


class ExpectedCostContribution(_Frozen):
    """A share of each group's expected cost.

    With ``uplift`` the base is the year-0 expected cost uplifted at that rate
    (the usual negotiated position, which shows the structural gap when costs
    grow faster); without it, each year's expected cost.
    """

    kind: Literal["expected_cost"] = "expected_cost"
    shares: dict[Identifier, Fraction] | None = Field(
        None,
        description="{group id: share of its expected cost}; default: the partner's "
        "commissioning shares.",
    )
    factor: float = Field(
        1.0, gt=0, le=10, allow_inf_nan=False, description="Multiplier (0.98 = 2 % below cost)."
    )
    uplift: float | None = Field(None, gt=-1, le=1, allow_inf_nan=False)
    minimum: Minimum | None = None


class RebasedContribution(_Frozen):
    """A contribution re-based each year on the partner's recurrent variance (R18).

    Year 0 pays ``base``. Next year's contribution is this year's plus
    ``recurrent_share`` of this year's recurrent variance ``r_p`` (the
    variances of the groups it commissions, by its commissioning shares),
    uplifted, less the efficiency requirement:
    ``c_{t+1} = (c_t + a · r_t) · (1 + uplift − efficiency) − efficiency_amount``,
    at least 0 and at least ``minimum`` (``docs/rules.md``, Contributions that
    re-base).
    """

    kind: Literal["rebased"] = "rebased"
    base: Money = Field(description="Contribution in year 0. [£]")
    uplift: float = Field(
        0.0, gt=-1, le=1, allow_inf_nan=False, description="Agreed annual uplift (rate)."
    )
    recurrent_share: Fraction = Field(
        1.0,
        description="Share of this year's recurrent over- (or under-) spend added to (taken "
        "from) next year's contribution.",
    )
    efficiency: float = Field(
        0.0,
        ge=0,
        lt=1,
        allow_inf_nan=False,
        description="Efficiency requirement as a rate of the re-based contribution.",
    )
    efficiency_amount: Money = Field(
        0.0, description="Efficiency requirement as an amount taken off each year from year 1. [£]"
    )
    minimum: Minimum | None = None

    @model_validator(mode="after")
    def _one_efficiency(self) -> RebasedContribution:
        if self.efficiency > 0 and self.efficiency_amount > 0:
            raise ValueError(
                "give the efficiency requirement as 'efficiency' (a rate) or "
                "'efficiency_amount' (£), not both"
            )
        return self


class OutturnContribution(_Frozen):
    """A contribution re-set each year to a share of last year's outturn (need-based).

    Year ``t ≥ 1`` pays ``factor · (1 + uplift) · Σ_g share_g · N_{g,t−1}``,
    ``N`` the spend of each group net of charging income after management
    action; year 0 the same share of the year's expected cost. To re-set on
    the expected cost instead, use ``kind: expected_cost`` without ``uplift``.
    """

    kind: Literal["outturn"] = "outturn"
    shares: dict[Identifier, Fraction] | None = Field(
        None,
        description="{group id: share of its outturn}; default: the partner's commissioning "
        "shares.",
    )
    factor: float = Field(
        1.0, gt=0, le=10, allow_inf_nan=False, description="Multiplier (0.98 = 2 % below outturn)."
    )
    uplift: float = Field(
        0.0,
        gt=-1,
        le=1,
        allow_inf_nan=False,
        description="Uplift of last year's outturn to this year's prices and demand (rate).",
    )
    minimum: Minimum | None = None


Contribution = Annotated[
    ScheduleContribution
    | UpliftContribution
    | ExpectedCostContribution
    | RebasedContribution
    | OutturnContribution,
    Field(discriminator="kind"),
]

#: Contribution kinds re-set each year from the year's outturn (they differ per simulation).
VARYING_KINDS = (RebasedContribution, OutturnContribution)


# --------------------------------------------------------------------------- agreement

#: A sharing key: 'proportional' (to contributions), 'host', 'own' (each partner
#: its own groups' variance) or fixed {partner: share} summing to 1.
KeyName = Literal["proportional", "host", "own", "commissioners"]


def _check_fixed_key(key: Any) -> Any:
    if isinstance(key, dict):
        _sum_to_one(key, "a fixed key needs at least one partner", "fixed shares")
    return key


def _known_key(key: Any) -> Any:
    """One message for a key that is neither a key's name nor a mapping (not one per type)."""
    if not isinstance(key, Mapping) and key not in get_args(KeyName):
        raise ValueError(
            "not a key: use proportional, host, own (each partner its own "
            "groups' variance), commissioners or fixed shares {partner: share}"
        )
    return key


Key = Annotated[
    KeyName | dict[Identifier, Fraction],
    BeforeValidator(_known_key),
    AfterValidator(_check_fixed_key),
    Field(
        description="'proportional' to contributions, 'host', 'own' (each partner its own "
        "groups' variance) or fixed shares {partner: share} summing to 1."
    ),
]


def _split_key(key: Any) -> Any:
    """A key splitting an amount: a key's name but 'own', or a mapping; one message if not."""
    if not isinstance(key, Mapping) and (key == "own" or key not in get_args(KeyName)):
        why = (
            "this key splits an amount, not a variance, and 'own' (each partner its own "
            "groups' variance) names no shares"
            if key == "own"
            else "not a key"
        )
        raise ValueError(
            f"{why}: use proportional, host, commissioners or fixed shares {{partner: share}}"
        )
    return key


#: A key that splits an amount between partners (a threshold's part, a reserve's
#: balance, an exit cost, the in-year cash): any :data:`Key` but ``'own'``.
SplitKey = Annotated[Key, BeforeValidator(_split_key)]


class Band(_Frozen):
    """One band of a tower: the variance between the previous band's top and ``upto``.

    ``upto`` is in pounds (``basis: amount``) or as a fraction of the year's
    pooled budget (``basis: budget``); the last band may leave it out
    (unbounded).
    """

    upto: float | None = Field(None, gt=0, le=MAX_MONEY, allow_inf_nan=False)
    key: Key


class Sharing(_Frozen):
    """How one side (overspend or underspend) of the variance is shared.

    Either one ``key`` for every pound, or a tower of ``bands`` (each band with
    its own key: e.g. host bears the first 2 %, 50/50 from 2 % to 5 %,
    proportional beyond). Any amount above the last band's ``upto`` is shared
    by ``key``.
    """

    key: Key = "proportional"
    bands: list[Band] | None = Field(None, min_length=1)
    basis: Literal["budget", "amount"] = Field(
        "budget", description="Band limits as a fraction of the budget, or in pounds."
    )

    @model_validator(mode="after")
    def _bands_increase(self) -> Sharing:
        if self.bands:
            tops = [b.upto for b in self.bands]
            if any(t is None for t in tops[:-1]):
                raise ValueError("only the last band may leave out 'upto'")
            finite = [t for t in tops if t is not None]
            if self.basis == "budget" and any(t > 10 for t in finite):
                raise ValueError(
                    f"with basis: budget, 'upto' is a fraction of the budget (0.02 is 2 %); "
                    f"got {max(finite):g} (at most 10)"
                )
            if any(b <= a for a, b in itertools.pairwise(finite)):
                raise ValueError(f"band limits 'upto' must increase (got {finite})")
            if any(b.key == "own" for b in self.bands) or self.key == "own":
                raise ValueError(
                    "key 'own' allocates each partner its own variance and cannot be "
                    "combined with bands"
                )
        return self


class Threshold(_Frozen):
    """A minimum rate before an amount is shared (a dead band or a first-dollar rule).

    Amounts up to ``rate`` of the budget go to ``below_key`` (e.g. the host,
    or the payer in a shared-savings programme). Above it, with
    ``first_dollar`` the whole amount is shared by the rule from the first
    pound (the Medicare Shared Savings Program); without it only the part
    above the threshold is, and the threshold itself stays with ``below_key``
    (a dead band).
    """

    rate: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = Field(
        description="Threshold as a fraction of the year's budget."
    )
    first_dollar: bool = False
    below_key: SplitKey = "host"


class Reserve(_Frozen):
    """A risk reserve: overspends draw on it, underspends are carried into it.

    It opens with ``opening`` pounds plus a ``top_slice`` of contributions
    (once, or every year); an underspend is carried forward into it (only the
    underspend of groups not listed in ``exclude_groups``, e.g. ring-fenced
    grants); the balance left at the end is distributed by ``final_key``.
    ``cap`` is the largest balance whatever feeds it: a top-slice takes only
    what fits (the rest stays in the partners' budgets, each in proportion to
    its top-slice), and an underspend that does not fit, carried forward or
    retained, is returned to the partners by the underspend rule. An
    ``opening`` above the cap is kept; nothing goes in until it falls below.
    """

    opening: Money = 0.0
    top_slice: Fraction = Field(0.0, description="Fraction of contributions put into the reserve.")
    top_slice_years: Literal["first", "every"] = "every"
    carry_forward: bool = Field(True, description="Carry underspends into the reserve.")
    cap: Money | None = Field(
        None, description="Largest balance the reserve may hold, whatever feeds it. [£]"
    )
    exclude_groups: list[Identifier] = Field(
        default_factory=list,
        description="Groups whose underspend is never carried forward (ring-fenced).",
    )
    final_key: SplitKey = Field(
        "proportional", description="How the balance left at the end is distributed."
    )


class Cap(_Frozen):
    """A cap on one partner's part of the overspend (its liability) or of the underspend (its gain).

    The limit is ``amount`` pounds, or ``fraction`` of ``of``: the partner's
    contribution that year, the year's pooled budget, or its contribution to
    one ``group``. ``per: year`` caps each year, ``per: agreement`` the
    running total. The excess goes to ``overflow``: another partner (without
    a cap of its own applying again), the reserve (which may then go into
    deficit, settled at the end by the final key) or ``unfunded`` (an
    overspend nobody pays, reported; overspend caps only).
    """

    partner: Identifier
    side: Literal["overspend", "underspend"] = "overspend"
    per: Literal["year", "agreement"] = "year"
    amount: Money | None = None
    fraction: float | None = Field(None, ge=0, le=10, allow_inf_nan=False)
    of: Literal["contribution", "budget", "group_contribution"] = "contribution"
    group: Identifier | None = None
    overflow: str = Field(description="A partner id, 'reserve' or 'unfunded'.")

    @model_validator(mode="after")
    def _one_limit(self) -> Cap:
        if (self.amount is None) == (self.fraction is None):
            raise ValueError("give exactly one of 'amount' (£) or 'fraction'")
        if self.of == "group_contribution" and self.fraction is not None and self.group is None:
            raise ValueError("of: group_contribution needs 'group'")
        if self.overflow == self.partner:
            raise ValueError("'overflow' must differ from the capped partner")
        if self.side == "underspend" and self.overflow == "unfunded":
            raise ValueError(
                "an underspend cap cannot overflow to 'unfunded' (use a partner or 'reserve')"
            )
        return self


class Holdback(_Frozen):
    """Performance-linked holdback (Better Care Fund pay-for-performance).

    ``partner`` holds back ``amount`` H of its contribution each year; the
    pool gets ``released = H · clip(achieved / target, 0, 1)`` (``achieved``
    drawn from the named performance ``metric``), and the rest is paid to the
    partner's acute provider instead. What the pool does without it is
    ``unreleased``: ``overspend`` (it spends as planned and the gap is an
    overspend shared by the rules) or ``uncommission`` (the schemes the
    holdback funds, in the groups ``funds``, are not commissioned: their spend
    falls by ``(1 − fixed_share) · (H − released)``). ``docs/rules.md`` step 1.
    """

    partner: Identifier
    amount: Money | list[Money] = Field(description="Held back each year (or one per year). [£]")
    metric: Identifier = Field(description="Id of a performance metric in 'performance'.")
    target: float = Field(
        gt=0, le=1e9, allow_inf_nan=False, description="Planned value of the metric."
    )
    unreleased: Literal["overspend", "uncommission"] = Field(
        "overspend",
        description="What an unreleased holdback does to the pool: 'overspend' (the pool "
        "spends as planned; the gap is an overspend shared by the rules) or 'uncommission' "
        "(the schemes it funds are not commissioned: their spend falls).",
    )
    funds: list[Identifier] = Field(
        default_factory=list,
        description="With 'uncommission': the client groups whose schemes the holdback funds "
        "(the fall in spend is split between them by their group budgets).",
    )
    fixed_share: Fraction = Field(
        0.0,
        description="With 'uncommission': the share of the schemes' cost committed before the "
        "release is known, which is spent whatever is released. [fraction]",
    )

    @model_validator(mode="after")
    def _uncommission_names_schemes(self) -> Holdback:
        problems = []
        if self.unreleased == "uncommission" and not self.funds:
            problems.append(
                "funds: 'uncommission' needs the client groups whose schemes the holdback funds"
            )
        if self.unreleased == "overspend":
            for f, unset in (("funds", []), ("fixed_share", 0.0)):
                if getattr(self, f) != unset:
                    problems.append(f"{f}: applies only with unreleased: uncommission")
        if len(set(self.funds)) != len(self.funds):
            problems.append("funds: a group is listed twice")
        if problems:
            raise ValueError("\n".join(problems))
        return self


class Forecast(_Frozen):
    """The month-m forecast management acts on (docs/rules.md, step 6).

    The year's log-deviation of the pool's net spend from plan, ``L = ln(N / P)``,
    is the end point of a Brownian motion ``W`` with volatility ``sd`` in accrued
    time ``τ`` (the share of the year's spend accrued by month m). The forecast
    at ``τ`` is ``W(τ) + bias · (1 − τ)``: what has accrued so far plus the rest of
    the year on plan (shifted by ``bias``). Its error has s.d.
    ``sqrt((1 − τ)² Var L + sd² τ (1 − τ))``, which is ``sd · sqrt(1 − τ)`` when
    ``sd`` is the s.d. of ``L``, and 0 at the year end.
    """

    sd: float = Field(
        gt=0,
        le=2,
        allow_inf_nan=False,
        description="Volatility of the year's log spend against plan (the s.d. of a forecast "
        "made at the start of the year); set it to the s.d. of ln(spend / plan), e.g. "
        "sqrt(ln(1 + cv²)) for one lognormal group with CV cv. [fraction]",
    )
    bias: float = Field(
        0.0,
        ge=-1,
        le=1,
        allow_inf_nan=False,
        description="Log-shift of the forecast of the months still to come: negative is "
        "optimism (overspends recognised late), positive prudence; 0 forecasts them on plan.",
    )


class RecoveryCost(_Frozen):
    """What a recovery plan costs the pool when management acts (a ledger flow)."""

    fixed: Money = Field(0.0, description="Cost of each recovery plan. [£]")
    proportional: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = Field(
        0.0, description="Cost per pound of spend the action saves. [fraction]"
    )


class Trigger(_Frozen):
    """Management action: past a threshold at a month, part of the year's overspend is saved.

    At ``month`` the pooled variance of the year is assessed: the outturn
    itself (``on: outturn``, as if known in advance; the default, which keeps
    configs written before forecasts) or the month's forecast (``on: forecast``,
    with ``forecast``). When it is above ``threshold`` of the budget, action
    takes effect ``lag`` months later and removes ``mitigation`` (its
    effectiveness) of the assessed overspend falling in the months after that
    (by the accrual profile: ``(12 - month - lag) / 12`` of it when flat). A
    recovery plan may cost money (``cost``, spent by the pool). The ledger
    shows spend after mitigation and the amount mitigated.
    """

    threshold: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    mitigation: Fraction = Field(
        description="Effectiveness: the share of the assessed overspend on the months after "
        "action takes effect that the action removes. [fraction]"
    )
    month: int = Field(
        6, ge=0, le=11, description="Months of the year elapsed when the variance is assessed."
    )
    lag: int = Field(
        0, ge=0, le=12, description="Months from the assessment until action takes effect."
    )
    on: Literal["outturn", "forecast"] = Field(
        "outturn",
        description="What the trigger assesses: the year's outturn ('outturn', the default) or "
        "the month's forecast ('forecast', needs 'forecast').",
    )
    forecast: Forecast | None = None
    cost: RecoveryCost | None = None

    @model_validator(mode="after")
    def _timing(self) -> Trigger:
        if self.month + self.lag > 12:
            raise ValueError(
                f"month + lag must be at most 12 (the year's end); got {self.month} + "
                f"{self.lag} = {self.month + self.lag}"
            )
        if self.on == "forecast" and self.forecast is None:
            raise ValueError("on: forecast needs 'forecast' (its sd, and bias if any)")
        if self.on == "outturn" and self.forecast is not None:
            raise ValueError("'forecast' is used only with on: forecast; set on: forecast")
        return self


class Instalments(_Frozen):
    """Contributions paid in equal instalments in advance, and the in-year cash they leave.

    Each partner's contribution (the budget, after any top-slice and
    holdback) is paid in ``number`` equal instalments at the start of each
    period. At each month end the pool is short by accrued spend less
    instalments received; the quarterly cash calls report the most it is
    short at a month end of each quarter, and each partner's part of them by
    ``cash_key`` (default: the host finds that cash in-year).
    """

    number: Literal[1, 4, 12] = Field(
        4, description="Instalments a year, paid at the start of each period: 1, 4 or 12."
    )
    cash_key: SplitKey = Field(
        "host",
        description="Who finds the in-year cash: 'host' (the host, or in a lead schedule the "
        "lead, cash-flows the pool), 'proportional' (in-year additional contributions in "
        "proportion to contributions), 'commissioners' (to the spend each commissions) or "
        "fixed shares {partner: share} summing to 1.",
    )


class ExitCost(_Frozen):
    """A cost of a partner's exit: redundancy, stranded contracts or double running.

    Paid outside the pool from the year the exit takes effect, ``amount`` a
    year for ``years`` years, by the leaver (``leaver``), by every partner in
    proportion to its contributions that year (``all``), or by ``key``.
    """

    kind: Literal["redundancy", "stranded_contracts", "double_running"]
    amount: Money = Field(description="Cost a year. [£]")
    years: int = Field(1, ge=1, le=50, description="Years it is paid, from the exit on.")
    paid_by: Literal["leaver", "all", "key"] = "leaver"
    key: SplitKey | None = Field(None, description="With paid_by: key, how the cost is split.")

    @model_validator(mode="after")
    def _key_with_key(self) -> ExitCost:
        if (self.paid_by == "key") != (self.key is not None):
            raise ValueError("give 'key' exactly when paid_by is 'key'")
        return self


class Exit(_Frozen):
    """How partners leave: a loss limit, a chosen year, or the agreement's end.

    A partner whose cumulative net position passes its ``limits`` entry gives
    notice at the end of that year and leaves ``notice_years`` later; a
    partner in ``voluntary`` leaves at the start of the year given; at
    ``end_year`` every partner leaves. Only the leaver leaves: it takes its
    reserve share (by ``reserve_key``) and keeps the variance of what it
    commissions (its committed placements stay with it), its exit
    ``costs`` are paid, and the other partners carry on under the agreement,
    every key recomputed over the partners still in it. The clause is
    agreement-wide: with ``schedules`` a partner leaves every schedule at once,
    on its net position over the whole agreement, takes its share of each
    schedule's reserve, and its exit costs are paid once.
    """

    limits: dict[Identifier, Money] = Field(
        default_factory=dict, description="Cumulative net position limit per partner. [£]"
    )
    notice_years: int = Field(0, ge=0, le=10)
    voluntary: dict[Identifier, int] = Field(
        default_factory=dict,
        description="{partner: agreement year (0-based) its exit takes effect}, notice given.",
    )
    end_year: int | None = Field(
        None,
        ge=1,
        description="Fixed end date: the agreement ends at the start of this year (0-based); "
        "every partner leaves.",
    )
    reserve_key: SplitKey = "proportional"
    costs: list[ExitCost] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_way_out(self) -> Exit:
        if not (self.limits or self.voluntary or self.end_year is not None):
            raise ValueError("give at least one of 'limits', 'voluntary' or 'end_year'")
        if any(y < 1 for y in self.voluntary.values()):
            raise ValueError("voluntary: an exit takes effect in year 1 or later")
        return self


class Fault(_Frozen):
    """Fault-based allocation (domain.md R10): the partner at fault meets a tagged share.

    ``share`` of the overspend left after the waterfall is tagged to
    ``partner``'s decision (say, expenditure outside the agreement without
    proper authorisation) and paid by it; the rest is shared by the rules.
    """

    partner: Identifier
    share: Fraction = Field(description="Fraction of the overspend tagged to the partner.")


class Vat(_Frozen):
    """VAT on the spend the host commissions for the pool, and how much of it it recovers.

    The pool's spend is drawn net of VAT. A fraction ``vatable`` of it is on
    standard-rated supplies (care itself is mostly exempt) and bears VAT at
    ``rate``. The host buys for the pool under its own VAT regime and recovers
    ``recovered`` of that VAT: all of it for a council (s33 VATA 1994), the
    contracted-out share for an NHS body (s41(3)). The rest is a cost to the pool.
    """

    rate: Fraction = Field(0.2, description="VAT rate on standard-rated supplies (UK: 0.2).")
    vatable: Fraction = Field(
        description="Fraction of the pool's spend (net of VAT) on standard-rated supplies."
    )
    recovered: Fraction = Field(
        description="Fraction of that VAT the host recovers: 1 for a council (s33 VATA "
        "1994); for an NHS body, the share of contracted-out services (s41(3))."
    )


class Charging(_Frozen):
    """How client charging income is pooled.

    ``net`` (the default): charging income is the council's. The pool works
    at the expected charging rate and ``bearer`` (the council) meets any
    shortfall in the income against that rate and keeps any excess, so the
    income's risk is not shared with the NHS partner. ``gross``: income flows
    into the pool and its uncertainty is shared by the sharing rule.
    """

    pooling: Literal["gross", "net"] = "net"
    bearer: Identifier | None = Field(
        None, description="Partner bearing the income risk when net (default: host)."
    )


class SetupCost(_Frozen):
    """A one-off integration cost."""

    year: int = Field(ge=0)
    amount: Money
    charged_to: str = Field("pool", description="'pool' or a partner id.")


class IntegrationTerms(_Frozen):
    """Who bears integration set-up costs and who gets the (uncertain) savings."""

    setup_costs: list[SetupCost] = Field(default_factory=list)
    savings_to: str = Field(
        "pool", description="'pool' or a partner id: who is credited the savings."
    )


class ScheduleRules(_Frozen):
    """The rules of one schedule: how its budget's variance is settled each year.

    A schedule is a pooled fund (``pooled``), aligned budgets (``aligned``)
    or a scheme commissioned by one partner on behalf of the others
    (``lead``: pooled, with ``lead`` as the schedule's host, who by default
    bears its overspend and keeps its underspend). The order of application
    each year is: contributions and holdbacks, top-slice, charging income,
    integration effects, management action, per-group profiles, the overspend
    waterfall (offset between groups, then ``waterfall`` in order), underspend
    carry-forward and disposition, the sharing rule (threshold, then key or
    bands), caps; at the end the reserve is distributed. ``docs/rules.md``
    gives every formula.
    """

    name: str | None = None
    arrangement: Literal["pooled", "aligned", "lead"] = Field(
        "pooled",
        description="'pooled': one fund, variance shared by the rules; 'aligned': each "
        "partner keeps its own groups' variance; 'lead': pooled, commissioned by 'lead', "
        "who is its host (and by default bears its variance).",
    )
    lead: Identifier | None = Field(
        None, description="The lead commissioner of a 'lead' arrangement (a partner id)."
    )
    overspend: Sharing = Field(default_factory=Sharing)
    underspend: Sharing = Field(default_factory=Sharing)
    threshold_overspend: Threshold | None = None
    threshold_underspend: Threshold | None = None
    reserve: Reserve | None = None
    weights: Literal["current", "cumulative"] = Field(
        "current",
        description="'proportional' weights from this year's contributions or the cumulative ones.",
    )
    group_keys: dict[Identifier, Key] = Field(
        default_factory=dict,
        description="Per-group profiles: a group listed here has its own variance split by "
        "this key ('host' for a fixed line the host keeps, 'commissioners' for a jointly "
        "commissioned line); the others are pooled.",
    )
    group_budgets: Literal["expected_cost"] | dict[Identifier, list[Money]] = Field(
        "expected_cost",
        description="How the budget is split between groups: in proportion to their expected "
        "cost, or given per group and year.",
    )
    offset_groups: bool = Field(
        True, description="Net one group's underspend against another's overspend."
    )
    waterfall: list[Literal["reserve", "uncommitted"]] = Field(
        default_factory=lambda: ["reserve", "uncommitted"],
        description="Order in which an overspend is met before the partners pay.",
    )
    uncommitted: float = Field(
        0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Uncommitted allocation held in the budget each year (fraction of "
        "budget); released to meet an overspend, spent otherwise.",
    )
    underspend_disposition: Literal["return", "retain", "nonrecurrent", "ijb"] = Field(
        "return",
        description="What happens to an underspend not carried into the reserve: returned "
        "by the underspend rule, retained in the reserve (no cap), spent on "
        "non-recurrent items, or split as in an IJB scheme ('ijb': the part from management "
        "action, i.e. mitigation and pool integration savings, retained in the reserve, the "
        "windfall rest returned).",
    )
    caps: list[Cap] = Field(default_factory=list)
    holdback: Holdback | None = None
    trigger: Trigger | None = None
    instalments: Instalments | None = Field(
        None,
        description="Contributions paid in instalments (default 4 a year): in-year cash calls "
        "are reported beside the year-end settlement.",
    )
    accrual: AccrualProfile | None = Field(
        None,
        description="How the spend of groups without their own 'accrual' accrues over the "
        "year (twelve monthly shares summing to 1); default flat.",
    )
    fault: Fault | None = None
    vat: Vat | None = None
    charging: Charging = Field(default_factory=Charging)
    integration: IntegrationTerms = Field(default_factory=IntegrationTerms)

    @model_validator(mode="before")
    @classmethod
    def _lead_bears_by_default(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("arrangement") == "lead":
            data = dict(data)
            for side in ("overspend", "underspend"):
                data.setdefault(side, {"key": "host"})
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleRules:
        problems = []
        if self.arrangement == "lead" and self.lead is None:
            problems.append("lead: a 'lead' arrangement names its lead commissioner (a partner id)")
        if self.arrangement != "lead" and self.lead is not None:
            problems.append("lead: only a 'lead' arrangement has a lead; set arrangement: lead")
        if self.arrangement == "aligned" and self.reserve is not None:
            problems.append("reserve: an aligned budget has no pooled reserve; remove 'reserve'")
        if self.arrangement == "aligned" and self.instalments is not None:
            problems.append(
                "instalments: aligned budgets have no pooled fund to pay instalments into; "
                "remove 'instalments'"
            )
        if self.underspend_disposition in ("retain", "ijb") and self.reserve is None:
            problems.append(
                f"underspend_disposition: '{self.underspend_disposition}' keeps underspends "
                "in the reserve; add a 'reserve'"
            )
        for i, cap in enumerate(self.caps):
            if cap.overflow == "reserve" and self.reserve is None:
                problems.append(f"caps[{i}].overflow: 'reserve' needs a 'reserve'")
        if len(set(self.waterfall)) != len(self.waterfall):
            problems.append("waterfall: a step is listed twice")
        if self.vat is not None and self.arrangement == "aligned":
            problems.append(
                "vat: aligned budgets have no host commissioning for the pool; remove 'vat'"
            )
        if self.fault is not None and self.overspend.key == "own":
            problems.append(
                "fault: key 'own' already gives each partner its own overspend; "
                "a fault share needs a shared overspend rule"
            )
        for side in ("overspend", "underspend"):
            if getattr(self, side).key == "own" and getattr(self, f"threshold_{side}") is not None:
                problems.append(
                    f"threshold_{side}: key 'own' gives each partner its own "
                    "variance; it cannot be combined with a threshold"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self


class Schedule(ScheduleRules):
    """One schedule of an agreement: a service or scheme with its client groups and rules.

    Each partner's contribution is split between schedules by ``funding``
    (the fraction of the partner's contribution that funds this schedule);
    without ``funding`` on any schedule, every partner funds each schedule in
    proportion to the schedule's share of the year's expected spend.
    """

    id: Identifier
    groups: list[Identifier] = Field(
        min_length=1, description="The client groups this schedule holds (each in one schedule)."
    )
    funding: dict[Identifier, Fraction] | None = Field(
        None,
        description="{partner: fraction of its contribution funding this schedule}; for each "
        "partner the fractions over the schedules sum to 1.",
    )

    @property
    def label(self) -> str:
        """Display name."""
        return self.name or self.id


class Across(_Frozen):
    """The agreement-level layer: what happens between schedules each year.

    With ``offset``, the underspend of some schedules meets the overspend of
    others before any schedule draws on its reserve (the first step of the
    Rotherham BCF waterfall, domain.md R8): the amount offset is the smaller
    of the total overspend and the total underspend of the schedules taking
    part, taken from each in proportion to its own.
    """

    offset: bool = Field(
        True, description="Net one schedule's underspend against another's overspend."
    )
    schedules: list[Identifier] | None = Field(
        None,
        description="The schedules taking part (default: every pooled or lead schedule).",
    )


#: The fields of an agreement that are per schedule (with ``schedules``, each states its own).
SCHEDULE_FIELDS = tuple(f for f in ScheduleRules.model_fields if f != "name")


class Agreement(ScheduleRules):
    """How a pooled (or aligned) budget's variance is settled each year.

    Either the agreement's own rules settle every client group (one implicit
    schedule, the common case), or ``schedules`` lists the agreement's
    schedules, each with its client groups, arrangement and rules (see
    :class:`ScheduleRules`); ``across`` then says what happens between them.
    ``exit`` applies to the whole agreement. ``docs/rules.md`` gives every
    formula.
    """

    schedules: list[Schedule] = Field(
        default_factory=list,
        description="The agreement's schedules, each with its groups and rules (default: one "
        "schedule of every group, with the rules above).",
    )
    across: Across | None = Field(
        None, description="What happens between schedules: offsets of under- against overspends."
    )
    exit: Exit | None = None

    @model_validator(mode="after")
    def _schedules_state_their_rules(self) -> Agreement:
        if not self.schedules:
            if self.across is not None:
                raise ValueError("across: applies between 'schedules'; list the schedules first")
            return self
        own = [
            f
            for f in SCHEDULE_FIELDS
            if getattr(self, f) != type(self).model_fields[f].get_default(call_default_factory=True)
        ]
        if own:
            raise ValueError(
                "\n".join(
                    f"{f}: with 'schedules', each schedule states its own rules; "
                    f"move '{f}' into the schedules"
                    for f in own
                )
            )
        return self


class PerformanceMetric(_Frozen):
    """An uncertain performance measure drawn each year (e.g. reduction in emergency admissions)."""

    id: Identifier
    mean: float = Field(
        ge=-1e9, le=1e9, allow_inf_nan=False, description="Expected value each year."
    )
    sd: float = Field(ge=0, le=1e9, allow_inf_nan=False, description="Standard deviation (normal).")


class IntegrationSavings(_Frozen):
    """Uncertain savings from integration that ramp up (and may not come at all).

    Savings in year t = ``amount * ramp[t] * U`` where, per simulation,
    ``U = 0`` with probability ``probability_none`` and otherwise
    lognormal with mean 1 and CV ``cv``. Drawn once for the agreement: with
    ``agreement.schedules``, ``schedules`` says which schedules receive them.
    """

    amount: Money = Field(description="Full annual savings once ramped up. [£]")
    ramp: list[Fraction] = Field(min_length=1, description="Fraction achieved in each year.")
    probability_none: Fraction = 0.0
    cv: CV = 0.0
    schedules: dict[Identifier, Fraction] | None = Field(
        None,
        min_length=1,
        description="With agreement.schedules: {schedule: fraction of the savings it receives}, "
        "the fractions summing to 1 (default: every schedule in proportion to its expected "
        "spend each year).",
    )

    @model_validator(mode="after")
    def _schedules_sum_to_one(self) -> IntegrationSavings:
        if self.schedules is not None and abs(sum(self.schedules.values()) - 1.0) > 1e-6:
            raise ValueError(
                "schedules: the fractions of the savings the schedules receive must sum to 1 "
                f"(they sum to {sum(self.schedules.values()):g})"
            )
        return self


# --------------------------------------------------------------------------- simulation


class Simulation(_Frozen):
    """Run settings."""

    years: int = Field(5, ge=1, le=50, description="Length of the agreement. [years]")
    first_year: int = Field(
        2026, ge=1990, le=2200, description="Calendar year the first financial year starts."
    )
    n_sims: int = Field(100_000, ge=1, le=1_000_000_000)
    seed: int | None = Field(None, ge=0, description="Seed of every random draw; None draws one.")
    materiality: Money = Field(
        1.0,
        description="Smallest amount counted as an event: a partner paying, an overspend "
        "call, a reserve running short (amounts at or below it, such as floating-point "
        "residue, are not counted). [£]",
    )


#: HM Treasury Green Book social time preference rate (real, years 0-30). [per year]
GREEN_BOOK_RATE = 0.035


class Reporting(_Frozen):
    """Which money basis results are shown in: nominal (cash), real terms or present value.

    A year-t amount x_t is shown as ``x_t * weight[t]`` (docs/reports.md, "Money basis"):

    * ``nominal``: as simulated, cash of each year (weight 1; the default);
    * ``real``: in year-0 prices, ``x_t / D_t`` with the deflator path D (``deflators``,
      one index per year with ``D_0 = 1``, or ``(1 + inflation)^t``);
    * ``present_value``: the real amount discounted to year 0 at ``discount_rate``,
      ``x_t / (D_t (1 + r)^t)``; without a deflator path D_t = 1 (then r applies to cash:
      a nominal rate). The HM Treasury Green Book rate is 3.5 % (real).

    Totals over the agreement are sums of the shown yearly amounts.
    """

    basis: Literal["nominal", "real", "present_value"] = "nominal"
    deflators: list[Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]] | None = Field(
        None,
        description="Price index of each year relative to year 0 (first entry 1.0), e.g. the "
        "GDP deflator forecast; real = nominal / index.",
    )
    inflation: float | None = Field(
        None,
        gt=-1,
        le=1,
        allow_inf_nan=False,
        description="Constant deflator growth instead of 'deflators': index (1 + inflation)^t.",
    )
    discount_rate: float = Field(
        GREEN_BOOK_RATE,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Discount rate for present_value (default 0.035, the HM Treasury Green "
        "Book social time preference rate, applied to real amounts).",
    )

    @model_validator(mode="after")
    def _one_deflator(self) -> Reporting:
        if self.deflators is not None and self.inflation is not None:
            raise ValueError("give 'deflators' (one per year) or 'inflation', not both")
        if self.deflators is not None and abs(self.deflators[0] - 1.0) > 1e-9:
            raise ValueError(f"deflators[0] must be 1.0 (year-0 prices), got {self.deflators[0]:g}")
        if self.basis == "real" and self.deflators is None and self.inflation is None:
            raise ValueError("basis 'real' needs a deflator path: 'deflators' or 'inflation'")
        return self

    def weights(self, years: int, basis: str | None = None) -> np.ndarray:
        """``(years,)`` factor turning year-t nominal pounds into ``basis`` (default: its own).

        Raises
        ------
        ValueError
            For an unknown basis, or ``real`` without a deflator path.
        """
        basis = self.basis if basis is None else basis
        if basis not in ("nominal", "real", "present_value"):
            raise ValueError(f"unknown basis {basis!r} (allowed: nominal, real, present_value)")
        t = np.arange(years)
        if basis == "nominal":
            return np.ones(years)
        if self.deflators is not None:
            deflator = np.asarray(self.deflators[:years], dtype=float)
        elif self.inflation is not None:
            deflator = (1.0 + self.inflation) ** t
        elif basis == "real":
            raise ValueError(
                "basis 'real' needs a deflator path: reporting.deflators or .inflation"
            )
        else:
            deflator = np.ones(years)
        out = 1.0 / deflator
        if basis == "present_value":
            out = out / (1.0 + self.discount_rate) ** t
        return out

    def describe(self, first_year: int) -> str:
        """One sentence saying which basis money is shown in (for reports)."""
        prices = f"{first_year}/{(first_year + 1) % 100:02d} prices"
        path = (
            f"deflated by {100 * self.inflation:.1f} % a year"
            if self.inflation is not None
            else "deflated by the configured index"
            if self.deflators is not None
            else None
        )
        if self.basis == "nominal":
            return "Money is shown in nominal terms: the cash of each year, not adjusted."
        cash = "; contributions and budgets are cash"
        if self.basis == "real":
            return f"Net positions are shown in real terms, at {prices} ({path}){cash}."
        rate = 100 * self.discount_rate
        green = (
            " (the HM Treasury Green Book rate)" if self.discount_rate == GREEN_BOOK_RATE else ""
        )
        if path is None:
            return (
                f"Net positions are shown as present value at "
                f"{first_year}/{(first_year + 1) % 100:02d}, each year's cash discounted at "
                f"{rate:.1f} % a year{green}{cash}."
            )
        return (
            f"Net positions are shown as present value in {prices} ({path}), discounted at "
            f"{rate:.1f} % a year{green}{cash}."
        )


class Model(_Frozen):
    """A complete riskshare scenario: the pool, its uncertainty, and the agreement."""

    name: str = "riskshare scenario"
    description: str | None = None
    partners: list[Partner] = Field(min_length=1)
    client_groups: list[ClientGroup] = Field(min_length=1)
    common_shocks: list[CommonShock] = Field(default_factory=list)
    correlation: Correlation | None = None
    contributions: dict[Identifier, Contribution]
    agreement: Agreement = Field(default_factory=Agreement)
    simulation: Simulation = Field(default_factory=Simulation)
    performance: list[PerformanceMetric] = Field(
        default_factory=list, description="Performance metrics that holdbacks depend on."
    )
    integration_savings: IntegrationSavings | None = None
    appetite: dict[Identifier, Money] = Field(
        default_factory=dict,
        description="Each partner's risk appetite: the exposure over the agreement it "
        "does not want to exceed (P(exposure > appetite) is reported). [£]",
    )
    reporting: Reporting = Field(
        default_factory=Reporting,
        description="Money basis of the results: nominal (default), real or present value.",
    )

    # ------------------------------------------------------------------ helpers
    @property
    def partner_ids(self) -> list[str]:
        """Partner ids in config order (the partner axis)."""
        return [p.id for p in self.partners]

    @property
    def group_ids(self) -> list[str]:
        """Client group ids in config order (the group axis)."""
        return [g.id for g in self.client_groups]

    @property
    def host(self) -> str:
        """The host partner: the one marked ``host``, else the largest contributor."""
        for p in self.partners:
            if p.host:
                return p.id
        totals = self.contribution_schedule().sum(axis=0)
        return self.partner_ids[int(np.argmax(totals))]

    def commissioning_matrix(self) -> np.ndarray:
        """``(groups, partners)`` matrix of commissioning shares (rows sum to 1)."""
        pidx = {p: i for i, p in enumerate(self.partner_ids)}
        m = np.zeros((len(self.client_groups), len(self.partners)))
        for g, grp in enumerate(self.client_groups):
            for p, s in grp.commissioner_shares.items():
                m[g, pidx[p]] = s
        return m

    def expected_spend(self) -> np.ndarray:
        """``(years, groups)`` expected gross spend of each group. [£]

        Exact for every spend model (growth and inflation at their central
        values, step changes included, high-cost placements included).
        """
        years = self.simulation.years
        t = np.arange(years)
        out = np.zeros((years, len(self.client_groups)))
        for g, grp in enumerate(self.client_groups):
            out[:, g] = _expected_group_spend(grp, t)
        return out

    def contribution_schedule(self) -> np.ndarray:
        """``(years, partners)`` contributions of each partner. [£]"""
        years = self.simulation.years
        t = np.arange(years)
        out = np.zeros((years, len(self.partners)))
        expected = None
        gidx = {g: i for i, g in enumerate(self.group_ids)}
        for p, pid in enumerate(self.partner_ids):
            spec = self.contributions[pid]
            if isinstance(spec, ScheduleContribution):
                out[:, p] = spec.amounts[:years]
            elif isinstance(spec, UpliftContribution):
                out[:, p] = spec.base * (1.0 + spec.uplift) ** t
            elif isinstance(spec, RebasedContribution):
                out[:, p] = _rebased_path(spec, self.minimum_schedule()[:, p])
            else:
                if expected is None:
                    expected = self.expected_spend()
                shares = spec.shares
                if shares is None:
                    comm = self.commissioning_matrix()
                    w = comm[:, p]
                else:
                    w = np.zeros(len(self.client_groups))
                    for gid, s in shares.items():
                        w[gidx[gid]] = s
                if isinstance(spec, OutturnContribution):
                    net = expected * (1.0 - self.charging_rates())
                    last = np.vstack([net[:1], net[:-1] * (1.0 + spec.uplift)])
                    out[:, p] = np.maximum(spec.factor * last @ w, self.minimum_schedule()[:, p])
                elif spec.uplift is None:
                    out[:, p] = spec.factor * expected @ w
                else:
                    out[:, p] = spec.factor * (expected[0] @ w) * (1.0 + spec.uplift) ** t
        return out

    def minimum_schedule(self) -> np.ndarray:
        """``(years, partners)`` each contribution's ``minimum`` (0 without one). [£]"""
        t = np.arange(self.simulation.years)
        out = np.zeros((len(t), len(self.partners)))
        for p, pid in enumerate(self.partner_ids):
            m = self.contributions[pid].minimum
            if m is not None:
                out[:, p] = m.base * (1.0 + m.growth) ** t
        return out

    def charging_rates(self) -> np.ndarray:
        """``(groups,)`` expected charging income as a fraction of gross spend. [fraction]"""
        return np.array([g.charging.rate if g.charging else 0.0 for g in self.client_groups])

    @property
    def contributions_vary(self) -> bool:
        """Whether some contribution is re-set each year from the outturn (per simulation)."""
        return any(isinstance(spec, VARYING_KINDS) for spec in self.contributions.values())

    def schedules(self) -> list[Schedule]:
        """The agreement's schedules; without ``schedules``, one of every group with its rules."""
        agr = self.agreement
        if agr.schedules:
            return list(agr.schedules)
        rules = {f: getattr(agr, f) for f in SCHEDULE_FIELDS}
        return [Schedule(id="agreement", name=agr.name, groups=self.group_ids, **rules)]

    def schedule_funding(self) -> np.ndarray:
        """``(schedules, years, partners)``: the fraction of each contribution for each schedule.

        From ``funding`` when the schedules give it; otherwise each schedule's
        share of the year's expected spend, the same for every partner.
        """
        scheds = self.schedules()
        years, n_p = self.simulation.years, len(self.partners)
        if all(s.funding is not None for s in scheds):
            f = np.array([[s.funding.get(p, 0.0) for p in self.partner_ids] for s in scheds])
            return np.broadcast_to(f[:, None, :], (len(scheds), years, n_p)).copy()
        expected = self.expected_spend()  # (years, groups)
        gidx = {g: i for i, g in enumerate(self.group_ids)}
        e = np.array([expected[:, [gidx[g] for g in s.groups]].sum(axis=1) for s in scheds])
        share = e / np.where(e.sum(axis=0) > 0, e.sum(axis=0), 1.0)
        return np.repeat(share[:, :, None], n_p, axis=2)

    def savings_shares(self) -> np.ndarray:
        """``(schedules, years)``: the fraction of the integration savings each schedule receives.

        From ``integration_savings.schedules`` when given; otherwise each
        schedule's share of the year's expected spend (``docs/rules.md``,
        "Integration savings with several schedules").
        """
        scheds = self.schedules()
        given = self.integration_savings.schedules if self.integration_savings else None
        if given is not None:
            f = np.array([given.get(s.id, 0.0) for s in scheds], dtype=float)
            return np.repeat(f[:, None], self.simulation.years, axis=1)
        expected = self.expected_spend()  # (years, groups)
        gidx = {g: i for i, g in enumerate(self.group_ids)}
        e = np.array([expected[:, [gidx[g] for g in s.groups]].sum(axis=1) for s in scheds])
        total = e.sum(axis=0)
        return np.where(total > 0, e / np.where(total > 0, total, 1.0), 1.0 / len(scheds))

    def schedule_models(self, contributions: np.ndarray | None = None) -> list[Model]:
        """Each schedule as a scenario of its own: its groups, its rules, its contributions.

        A schedule is settled exactly like a one-schedule agreement over its
        groups; its contributions are each partner's contribution times its
        funding fraction; its host is its lead (``lead`` arrangement) or the
        agreement's host. Without ``schedules`` the one model is ``self``
        with its agreement unchanged, so existing configs settle as before
        (an agreement of arrangement ``lead`` is one schedule hosted by its lead).

        Parameters
        ----------
        contributions : ndarray, optional
            ``(years, partners)`` contributions instead of the model's. [£]
        """
        if not self.agreement.schedules and self.agreement.arrangement != "lead":
            return [self]
        contrib = self.contribution_schedule() if contributions is None else contributions
        funding = self.schedule_funding()
        host = self.host
        data = self.model_dump(mode="python")
        out = []
        for s, sched in enumerate(self.schedules()):
            here = set(sched.groups)
            lead = sched.lead if sched.arrangement == "lead" else host
            rules = sched.model_dump(mode="python", exclude={"id", "groups", "funding"})
            if sched.arrangement == "lead":  # a pooled schedule hosted by its lead
                rules.update(arrangement="pooled", lead=None)
            rules["exit"] = data["agreement"]["exit"]  # agreement-wide: every schedule applies it
            sub = {
                **data,
                "partners": [{**p, "host": p["id"] == lead} for p in data["partners"]],
                "client_groups": [g for g in data["client_groups"] if g["id"] in here],
                "common_shocks": [],
                "correlation": None,
                "contributions": {
                    p: {"kind": "schedule", "amounts": list(contrib[:, i] * funding[s, :, i])}
                    for i, p in enumerate(self.partner_ids)
                },
                "agreement": rules,
                # drawn for the agreement; each schedule settles its part (Terms.savings_share)
                "integration_savings": None
                if data["integration_savings"] is None
                else {**data["integration_savings"], "schedules": None},
            }
            out.append(Model.model_validate(sub))
        return out

    # ------------------------------------------------------------------ validation
    @model_validator(mode="after")
    def _cross_references(self) -> Model:
        problems = reference_problems(self.model_dump(mode="python"))
        if not problems:
            problems = value_problems(self)
        if problems:
            raise ValueError("\n".join(problems))
        return self


def reference_problems(data: Any) -> list[str]:
    """Problems between fields of a config: ids that refer to nothing, lengths that miss years.

    Works on plain data (a parsed file, or a model's dump) and tolerates any
    malformed part, so the loader can report these problems together with
    the field errors of the same file.

    Returns
    -------
    list of str
        ``"field.path: message"`` lines.
    """

    def get(node: Any, key: str, default: Any = None) -> Any:
        return node.get(key, default) if isinstance(node, Mapping) else default

    def items(node: Any) -> list[Any]:
        return list(node) if isinstance(node, list) else []

    def mapping(node: Any) -> Mapping[Any, Any]:
        return node if isinstance(node, Mapping) else {}

    def ids(nodes: Any) -> list[str]:
        return [str(get(n, "id")) for n in items(nodes) if isinstance(get(n, "id"), str)]

    out: list[str] = []
    pids, gids = ids(get(data, "partners")), ids(get(data, "client_groups"))
    metrics = set(ids(get(data, "performance")))
    pset, gset = set(pids), set(gids)
    allowed_p, allowed_g = ", ".join(pids), ", ".join(gids)
    years = get(get(data, "simulation"), "years", 5)
    years = years if isinstance(years, int) and years >= 1 else None

    def partner(path: str, pid: Any, extra: tuple[str, ...] = ()) -> None:
        if isinstance(pid, str) and pid not in pset and pid not in extra:
            more = "".join(f", '{e}'" for e in extra)
            out.append(f"{path}: unknown partner '{pid}' (partners: {allowed_p}{more})")

    def group(path: str, gid: Any) -> None:
        if isinstance(gid, str) and gid not in gset:
            out.append(f"{path}: unknown client group '{gid}' (groups: {allowed_g})")

    def key(path: str, k: Any) -> None:
        if isinstance(k, Mapping):
            for pid in k:
                partner(path, pid)

    def per_year(path: str, values: Any, what: str = "amounts") -> None:
        if years is not None and isinstance(values, list) and len(values) < years:
            out.append(f"{path}: needs {years} {what} (one per year), got {len(values)}")

    for kind, found in (
        ("partner", pids),
        ("client group", gids),
        ("performance metric", ids(get(data, "performance"))),
    ):
        dup = sorted({i for i in found if found.count(i) > 1})
        if dup:
            out.append(f"{kind} ids must be unique (repeated: {', '.join(dup)})")
    if sum(bool(get(p, "host")) for p in items(get(data, "partners"))) > 1:
        out.append("partners: at most one partner may have host: true")
    for g, grp in enumerate(items(get(data, "client_groups"))):
        comm = get(grp, "commissioners")
        for pid in (
            [comm]
            if isinstance(comm, str)
            else list(comm or {})
            if isinstance(comm, Mapping)
            else []
        ):
            partner(f"client_groups[{g}].commissioners", pid)
        for r, row in enumerate(items(get(get(grp, "cases"), "table"))):
            for pid in mapping(get(row, "shares")):
                partner(f"client_groups[{g}].cases.table[{r}].shares", pid)
        spend = get(grp, "spend")
        if get(spend, "model") == "fixed":
            per_year(f"client_groups[{g}].spend.amounts", get(spend, "amounts"))
        for k, sc in enumerate(items(get(grp, "step_changes"))):
            year = get(sc, "year")
            if years is not None and isinstance(year, int) and year >= years:
                out.append(
                    f"client_groups[{g}].step_changes[{k}].year: must be < "
                    f"simulation.years ({years}), got {year}"
                )
    contributions = get(data, "contributions")
    if isinstance(contributions, Mapping):
        missing = [p for p in pids if p not in contributions]
        if missing:
            out.append(f"contributions: no entry for partner(s) {', '.join(missing)}")
        for pid, spec in contributions.items():
            if pid not in pset:
                out.append(f"contributions.{pid}: unknown partner (partners: {allowed_p})")
                continue
            if get(spec, "kind") == "schedule":
                per_year(f"contributions.{pid}.amounts", get(spec, "amounts"))
            for gid in mapping(get(spec, "shares")):
                group(f"contributions.{pid}.shares", gid)
    for s, shock in enumerate(items(get(data, "common_shocks"))):
        for gid in items(get(shock, "groups")):
            group(f"common_shocks[{s}].groups", gid)
    for gid in items(get(get(data, "correlation"), "groups")):
        group("correlation.groups", gid)
    constant = {str(get(m, "id")) for m in items(get(data, "performance")) if get(m, "sd") == 0}
    for mid in items(get(get(data, "correlation"), "metrics")):
        if not isinstance(mid, str):
            continue
        if mid not in metrics:
            allowed_m = ", ".join(sorted(metrics)) or "none defined in 'performance'"
            out.append(f"correlation.metrics: unknown performance metric '{mid}' ({allowed_m})")
        elif mid in constant:
            out.append(
                f"correlation.metrics: metric '{mid}' has sd 0 (a constant): it cannot be "
                "correlated; give it an sd > 0 or leave it out"
            )
    for pid in mapping(get(data, "appetite")):
        if pid not in pset:
            out.append(f"appetite.{pid}: unknown partner (partners: {allowed_p})")
    per_year("integration_savings.ramp", get(get(data, "integration_savings"), "ramp"), "fractions")
    per_year("reporting.deflators", get(get(data, "reporting"), "deflators"), "indices")

    agr = get(data, "agreement") or {}
    cased = {
        get(g, "id")
        for g in items(get(data, "client_groups"))
        if get(g, "cases") is not None and isinstance(get(g, "id"), str)
    }

    def rules(at: str, node: Any, here: list[str]) -> None:
        """The references of one schedule's rules (``at``: its path; ``here``: its groups)."""

        def own_group(path: str, gid: Any) -> None:
            group(path, gid)
            if isinstance(gid, str) and gid in gset and gid not in here:
                out.append(f"{path}: group '{gid}' is not in this schedule ({', '.join(here)})")

        for side in ("overspend", "underspend"):
            sharing = get(node, side)
            key(f"{at}.{side}.key", get(sharing, "key"))
            for b, band in enumerate(items(get(sharing, "bands"))):
                key(f"{at}.{side}.bands[{b}].key", get(band, "key"))
            key(
                f"{at}.threshold_{side}.below_key", get(get(node, f"threshold_{side}"), "below_key")
            )
        reserve = get(node, "reserve")
        key(f"{at}.reserve.final_key", get(reserve, "final_key"))
        key(f"{at}.instalments.cash_key", get(get(node, "instalments"), "cash_key"))
        for i, gid in enumerate(items(get(reserve, "exclude_groups"))):
            own_group(f"{at}.reserve.exclude_groups[{i}]", gid)
        for gid, k in mapping(get(node, "group_keys")).items():
            own_group(f"{at}.group_keys.{gid}", gid)
            key(f"{at}.group_keys.{gid}", k)
            if gid in cased:
                out.append(
                    f"{at}.group_keys.{gid}: group '{gid}' has case splits ('cases'), which "
                    "settle it by its cases' shares; remove it from group_keys"
                )
        budgets = get(node, "group_budgets")
        if isinstance(budgets, Mapping):
            for gid, amounts in budgets.items():
                own_group(f"{at}.group_budgets.{gid}", gid)
                per_year(f"{at}.group_budgets.{gid}", amounts)
            missing = [g for g in here if g not in budgets]
            if missing:
                out.append(f"{at}.group_budgets: no budget for group(s) {', '.join(missing)}")
        for i, cap in enumerate(items(get(node, "caps"))):
            partner(f"{at}.caps[{i}].partner", get(cap, "partner"))
            partner(f"{at}.caps[{i}].overflow", get(cap, "overflow"), ("reserve", "unfunded"))
            own_group(f"{at}.caps[{i}].group", get(cap, "group"))
        hb = get(node, "holdback")
        if isinstance(hb, Mapping):
            partner(f"{at}.holdback.partner", get(hb, "partner"))
            metric = get(hb, "metric")
            if isinstance(metric, str) and metric not in metrics:
                allowed_m = ", ".join(sorted(metrics)) or "none defined in 'performance'"
                out.append(
                    f"{at}.holdback.metric: unknown performance metric '{metric}' "
                    f"(metrics: {allowed_m})"
                )
            per_year(f"{at}.holdback.amount", get(hb, "amount"))
            charged = {
                get(g, "id")
                for g in items(get(data, "client_groups"))
                if get(g, "charging") and isinstance(get(g, "id"), str)
            }
            for i, gid in enumerate(items(get(hb, "funds"))):
                own_group(f"{at}.holdback.funds[{i}]", gid)
                if isinstance(gid, str) and gid in charged:
                    out.append(
                        f"{at}.holdback.funds[{i}]: group '{gid}' has charging income; the "
                        "schemes a holdback funds must be uncharged (NHS) services"
                    )
        partner(f"{at}.lead", get(node, "lead"))
        partner(f"{at}.fault.partner", get(get(node, "fault"), "partner"))
        partner(f"{at}.charging.bearer", get(get(node, "charging"), "bearer"))
        integration = get(node, "integration")
        for i, sc in enumerate(items(get(integration, "setup_costs"))):
            partner(
                f"{at}.integration.setup_costs[{i}].charged_to", get(sc, "charged_to"), ("pool",)
            )
            year = get(sc, "year")
            if years is not None and isinstance(year, int) and year >= years:
                out.append(
                    f"{at}.integration.setup_costs[{i}].year: must be < simulation.years ({years})"
                )
        partner(f"{at}.integration.savings_to", get(integration, "savings_to"), ("pool",))

    if items(get(agr, "schedules")):
        schedule_problems(agr, gids, pids, rules, out)
    else:
        rules("agreement", agr, gids)
    receiving = mapping(get(get(data, "integration_savings"), "schedules"))
    sids = ids(get(agr, "schedules"))
    for sid in receiving:
        if not sids:
            out.append(
                "integration_savings.schedules: only with agreement.schedules (this agreement "
                "is one schedule, which receives all the savings)"
            )
            break
        if sid not in sids:
            out.append(
                f"integration_savings.schedules: unknown schedule '{sid}' "
                f"(schedules: {', '.join(sids)})"
            )
    exit_ = get(agr, "exit")
    for pid in mapping(get(exit_, "limits")):
        partner(f"agreement.exit.limits.{pid}", pid)
    key("agreement.exit.reserve_key", get(exit_, "reserve_key"))
    for pid, year in mapping(get(exit_, "voluntary")).items():
        partner(f"agreement.exit.voluntary.{pid}", pid)
        if years is not None and isinstance(year, int) and year >= years:
            out.append(f"agreement.exit.voluntary.{pid}: must be < simulation.years ({years})")
    end = get(exit_, "end_year")
    if years is not None and isinstance(end, int) and end >= years:
        out.append(f"agreement.exit.end_year: must be < simulation.years ({years})")
    for i, cost in enumerate(items(get(exit_, "costs"))):
        key(f"agreement.exit.costs[{i}].key", get(cost, "key"))
    return out


#: Largest expected spend of one group in one year that a config may imply [£]
#: (growth compounding past it is a mistake, and would overflow settlement).
MAX_EXPECTED_SPEND = 1e15


def _uses_proportional_key(node: Any, path: str = "agreement") -> str | None:
    """The path of the first sharing key in ``node`` that is 'proportional', if any."""
    if isinstance(node, Mapping):
        for k, v in node.items():
            found = (
                f"{path}.{k}"
                if v == "proportional" and "key" in str(k)
                else _uses_proportional_key(v, f"{path}.{k}")
            )
            if found:
                return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found = _uses_proportional_key(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _holdback_problems(model: Model, contributions: np.ndarray) -> list[str]:
    """A holdback larger than what its partner puts into its schedule in some year."""
    out = []
    several = bool(model.agreement.schedules)
    funding = model.schedule_funding() if several else None
    years = model.simulation.years
    for i, sched in enumerate(model.schedules()):
        hb = sched.holdback
        if hb is None:
            continue
        p = model.partner_ids.index(hb.partner)
        paid = contributions[:, p] * (funding[i, :, p] if funding is not None else 1.0)
        amount = np.broadcast_to(np.asarray(hb.amount, dtype=float), (years,))[:years]
        over = np.flatnonzero(amount > paid * (1 + 1e-12) + 1e-6)
        at = f"agreement.schedules[{i}]" if several else "agreement"
        if over.size:
            t = int(over[0])
            where = " to this schedule" if several else ""
            out.append(
                f"{at}.holdback.amount: £{amount[t]:,.0f} is more than {hb.partner}'s "
                f"contribution{where} in year {t} (£{paid[t]:,.0f})"
            )
        if hb.funds:
            expected = model.expected_spend()[:, [model.group_ids.index(g) for g in hb.funds]]
            schemes = expected.sum(axis=1)
            over = np.flatnonzero(amount > schemes * (1 + 1e-12) + 1e-6)
            if over.size:
                t = int(over[0])
                out.append(
                    f"{at}.holdback.amount: £{amount[t]:,.0f} is more than the expected spend "
                    f"of the groups it funds ({', '.join(hb.funds)}) in year {t} "
                    f"(£{schemes[t]:,.0f}): the schemes it funds are part of that spend"
                )
    return out


def _contribution_problems(model: Model, contributions: np.ndarray) -> list[str]:
    """A contribution fixed in advance below its ``minimum`` (a re-set one is raised to it)."""
    out = []
    floor = model.minimum_schedule()
    for pid, spec in model.contributions.items():
        if isinstance(spec, VARYING_KINDS):
            continue
        p = model.partner_ids.index(pid)
        below = np.flatnonzero(contributions[:, p] < floor[:, p] * (1 - 1e-12) - 1e-6)
        if spec.minimum is not None and below.size:
            t = int(below[0])
            out.append(
                f"contributions.{pid}: £{contributions[t, p]:,.0f} in year {t} is below its "
                f"minimum £{floor[t, p]:,.0f} (minimum.base × (1 + minimum.growth)^{t}): "
                "raise the contribution or lower the minimum"
            )
    return out


def value_problems(model: Model, contributions: np.ndarray | None = None) -> list[str]:
    """Problems between the values of a valid config that would otherwise fail only in settlement.

    Spend that is zero in every group and year, expected spend that growth
    compounds past :data:`MAX_EXPECTED_SPEND` (or to infinity), and a
    'proportional' key (shares in proportion to contributions) in a year
    when nobody contributes.

    Parameters
    ----------
    model : Model
    contributions : ndarray, optional
        ``(years, partners)`` contributions settled instead of the model's
        (a sweep or solve that scales a schedule). [£]

    Returns
    -------
    list of str
        ``"field.path: message"`` lines.
    """
    out: list[str] = []
    with np.errstate(over="ignore", invalid="ignore"):
        spend = model.expected_spend()
        if contributions is None:
            contributions = model.contribution_schedule()
    too_big = ~(np.abs(spend) <= MAX_EXPECTED_SPEND)  # nan and inf included
    if too_big.any():
        t, g = (int(i) for i in np.argwhere(too_big)[0])
        out.append(
            f"client_groups[{g}].spend: expected spend reaches £{spend[t, g]:.3g} in year {t} "
            f"(more than £{MAX_EXPECTED_SPEND:.0e}): check its growth and inflation"
        )
    elif not (spend > 0).any():
        out.append("client_groups: expected spend is £0 in every group and year: nothing to share")
    if not np.isfinite(contributions).all():
        out.append("contributions: grow past any finite amount: check their uplift")
    out += _holdback_problems(model, contributions)
    out += _contribution_problems(model, contributions)
    key = _uses_proportional_key(model.agreement.model_dump(mode="python"))
    zero = np.flatnonzero(~(contributions.sum(axis=1) > 0))
    if key and zero.size:
        out.append(
            f"contributions: the partners contribute £0 in total in year {int(zero[0])}, but "
            f"{key} is 'proportional' (shares in proportion to contributions): give "
            "contributions, or a fixed key such as {partner: share}"
        )
    return out


def schedule_problems(
    agreement: Mapping[str, Any],
    gids: list[str],
    pids: list[str],
    rules: Callable[[str, Any, list[str]], None],
    out: list[str],
) -> None:
    """Problems across an agreement's schedules, appended to ``out`` as ``"path: message"``.

    Every client group in exactly one schedule; schedule ids unique; funding
    fractions of each partner summing to 1 over the schedules; and each
    schedule's own references (``rules``, called with the schedule's path and
    groups).
    """

    def get(node: Any, key: str) -> Any:
        return node.get(key) if isinstance(node, Mapping) else None

    def listed(node: Any) -> list[Any]:
        return list(node) if isinstance(node, list) else []

    schedules = agreement["schedules"]
    owner: dict[str, str] = {}
    ids = [i if isinstance(i, str) else None for i in (get(sc, "id") for sc in schedules)]
    dup = sorted({i for i in ids if i is not None and ids.count(i) > 1})
    if dup:
        out.append(f"agreement.schedules: schedule ids must be unique (repeated: {', '.join(dup)})")
    for i, sc in enumerate(schedules):
        at = f"agreement.schedules[{i}]"
        here = [g for g in listed(get(sc, "groups")) if isinstance(g, str)]
        for j, gid in enumerate(here):
            if gid not in gids:
                out.append(
                    f"{at}.groups[{j}]: unknown client group '{gid}' (groups: {', '.join(gids)})"
                )
            elif gid in owner:
                out.append(
                    f"{at}.groups[{j}]: group '{gid}' is already in schedule '{owner[gid]}' "
                    "(a group belongs to one schedule)"
                )
            else:
                owner[gid] = str(get(sc, "id"))
        funding = get(sc, "funding")
        for pid in funding if isinstance(funding, Mapping) else {}:
            if pid not in pids:
                out.append(
                    f"{at}.funding.{pid}: unknown partner '{pid}' (partners: {', '.join(pids)})"
                )
        rules(at, sc, here)
    arrangements = {i: get(sc, "arrangement") for i, sc in zip(ids, schedules, strict=True)}
    for j, sid in enumerate(listed(get(get(agreement, "across"), "schedules"))):
        if sid not in arrangements:
            known = ", ".join(str(i) for i in ids)
            out.append(f"agreement.across.schedules[{j}]: unknown schedule {sid!r} ({known})")
        elif arrangements[sid] == "aligned":
            out.append(
                f"agreement.across.schedules[{j}]: schedule '{sid}' is aligned budgets, which "
                "have no pooled variance to offset"
            )
    orphans = [g for g in gids if g not in owner]
    if orphans:
        out.append(
            f"agreement.schedules: group(s) {', '.join(orphans)} in no schedule "
            "(every client group belongs to one schedule)"
        )
    funded = [get(sc, "funding") for sc in schedules]
    if any(isinstance(f, Mapping) for f in funded):
        if not all(isinstance(f, Mapping) for f in funded):
            out.append(
                "agreement.schedules: give 'funding' on every schedule or on none "
                "(without it, each schedule is funded in proportion to its expected spend)"
            )
            return
        for pid in pids:
            shares = [f.get(pid, 0.0) for f in funded]
            if all(isinstance(x, (int, float)) for x in shares) and abs(sum(shares) - 1) > 1e-9:
                out.append(
                    f"agreement.schedules: partner '{pid}''s funding fractions over the "
                    f"schedules must sum to 1 (they sum to {sum(shares):g})"
                )


def _expected_group_spend(grp: ClientGroup, t: np.ndarray) -> np.ndarray:
    """Expected gross spend of one group in years ``t``. [£]"""
    sp = grp.spend
    if isinstance(sp, ClientsSpend):
        base = sp.clients.mean * sp.cost.mean
        growth = (1 + _rate_mean(sp.clients.growth)) ** t * (1 + _rate_mean(sp.cost.inflation)) ** t
        out = base * growth
    elif isinstance(sp, AggregateSpend):
        out = sp.mean * (1 + _rate_mean(sp.growth)) ** t
    else:
        if sp.amounts is not None:
            out = np.asarray(sp.amounts, dtype=float)[: len(t)]
        else:
            out = sp.amount * (1 + sp.growth) ** t
    out = np.asarray(out, dtype=float).copy()
    for sc in grp.step_changes:
        out[t >= sc.year] *= sc.factor
    if grp.high_cost is not None:
        hc = grp.high_cost
        out = out + hc.rate * hc.mean * (
            (1 + _rate_mean(hc.growth)) ** t * (1 + _rate_mean(hc.inflation)) ** t
        )
    return out


def _rebased_path(spec: RebasedContribution, minimum: np.ndarray) -> np.ndarray:
    """A re-based contribution's path when every year's recurrent variance is 0. [£]

    ``c_0 = base``, ``c_{t+1} = c_t · (1 + uplift − efficiency) − efficiency_amount``,
    each year at least 0 and at least ``minimum[t]``.
    """
    out = np.empty(len(minimum))
    c = max(spec.base, minimum[0])
    for t in range(len(minimum)):
        if t:
            c = max(c * (1.0 + spec.uplift - spec.efficiency) - spec.efficiency_amount, 0.0)
            c = max(c, minimum[t])
        out[t] = c
    return out
