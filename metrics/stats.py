"""Statistics for trials: pure functions on sufficient statistics (n, sum, sum of squares).

No database here. SQL hands over a ``Summary`` per group; these functions compare two groups.
Group ``a`` is the control (or the window before the change), group ``b`` the treatment (or the
window during it); every effect is **b minus a**.

Degenerate input (a group with fewer than 2 units, no variation at all, an empty denominator)
gives ``None`` ("too little data to tell"), never an exception or a NaN. Inconsistent input
(a negative count, more successes than units) is a programming error and raises ``ValueError``.

* ``welch``: Welch's unequal-variance t-test with the Welch–Satterthwaite degrees of freedom;
  the confidence interval uses the t quantile with those degrees of freedom (scipy.stats.t),
  as GrowthBook's frequentist engine does (METRICS.md reproduces its published case).
* ``two_proportions``: the two-proportion z-test. The p-value uses the **pooled** standard error
  (under the null hypothesis both groups share one rate); the confidence interval uses the
  **unpooled** standard error (each group its own rate), the usual Wald interval.
* ``sample_ratio``: the sample-ratio-mismatch check, a chi-square goodness-of-fit test with
  1 degree of freedom on the group sizes, flagged at p < 0.001 (GrowthBook's default threshold).

The readouts that follow gbstats (GrowthBook's statistics engine) work on **moments**: the
estimate of the effect (absolute b − a, or relative (b − a) / |a|, with the delta-method
variance) and its standard error (``moments``, ``cuped``). As gbstats does, a 0/1 outcome's
variance is p(1 − p) and any other outcome's is the sample variance.

* ``cuped``: CUPED variance reduction. Each unit's value during the trial is adjusted with its
  value in the pre-period: y − θ·x, θ = cov(y, x) / var(x) over both groups together. The
  effect keeps its meaning; its variance shrinks by ≈ corr(y, x)².
* ``t_test``: the fixed-horizon test on moments (Student's t with the Welch–Satterthwaite
  degrees of freedom, normal when there are none); valid once, at the planned end.
* ``sequential``: always-valid confidence intervals and p-values (the Gaussian mixture
  sequential probability ratio test of Waudby-Smith et al., arXiv 2103.06476, eq. 9 and 155,
  as gbstats implements it): valid however often the trial is read, at the cost of wider
  intervals. The mixture's width ρ is tuned for ``tuning`` units in all.
* ``bayesian``: gbstats' Gaussian model: a normal posterior of the effect (flat prior unless a
  proper normal prior is given), chance to beat control P(effect better than 0), the expected
  loss of choosing either side (risk) and a credible interval.
* ``mde``: the minimum detectable effect of a fixed-horizon two-sided test at a given power.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

SRM_THRESHOLD = 0.001
ALPHA = 0.05


@dataclass(frozen=True)
class Summary:
    """Sufficient statistics of one group: number of units, sum and sum of squares of their values.
    For a 0/1 outcome ``sum`` is the number of successes (and ``sum_sq`` equals it)."""

    n: int
    sum: float
    sum_sq: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        vals = [float(v) for v in values]
        return cls(len(vals), math.fsum(vals), math.fsum(v * v for v in vals))

    @classmethod
    def from_moments(cls, mean: float, sd: float, n: int) -> Summary:
        """The statistics of ``n`` values with this mean and sample standard deviation (ddof=1)."""
        return cls(int(n), mean * n, sd * sd * (n - 1) + n * mean * mean)

    @property
    def mean(self) -> float | None:
        return self.sum / self.n if self.n > 0 else None

    @property
    def var(self) -> float | None:
        """Sample variance (ddof=1); None below 2 units. Rounding never makes it negative."""
        if self.n < 2:
            return None
        return max((self.sum_sq - self.sum * self.sum / self.n) / (self.n - 1), 0.0)

    @property
    def sd(self) -> float | None:
        v = self.var
        return None if v is None else math.sqrt(v)


@dataclass(frozen=True)
class Effect:
    """The difference b − a with its uncertainty. ``rel_effect`` = abs_effect / mean_a (None when
    mean_a is 0); ``df`` only for Welch."""

    test: str  # "welch" | "two_proportions"
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    abs_effect: float
    rel_effect: float | None
    ci_low: float
    ci_high: float
    p_value: float | None
    df: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def _check_alpha(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (got {alpha!r})")
    return alpha


def _rel(diff: float, base: float) -> float | None:
    return diff / base if base != 0 else None


def welch(a: Summary, b: Summary, alpha: float = ALPHA) -> Effect | None:
    """Welch's t-test of mean(b) − mean(a); None when a group has fewer than 2 units or neither
    group varies (the standard error is 0)."""
    from scipy import stats as st  # imported when a trial is read: scipy.stats takes ~0.5 s to load
    _check_alpha(alpha)
    if a.n < 2 or b.n < 2:
        return None
    va, vb = a.var / a.n, b.var / b.n  # squared standard errors of the two means
    se2 = va + vb
    if not se2 > 0 or not math.isfinite(se2):
        return None
    se = math.sqrt(se2)
    df = se2 * se2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))
    diff = b.mean - a.mean
    t = diff / se
    half = float(st.t.ppf(1 - alpha / 2, df)) * se
    p = float(min(1.0, 2 * st.t.sf(abs(t), df)))
    return Effect("welch", a.n, b.n, a.mean, b.mean, diff, _rel(diff, a.mean), diff - half, diff + half, p, float(df))


def two_proportions(x_a: int, n_a: int, x_b: int, n_b: int, alpha: float = ALPHA) -> Effect | None:
    """Two-proportion z-test of x_b/n_b − x_a/n_a: p-value from the pooled standard error, CI from
    the unpooled one. None when a group is empty or both rates are 0 or both 1 (no variation)."""
    from scipy import stats as st  # imported when a trial is read: scipy.stats takes ~0.5 s to load
    _check_alpha(alpha)
    for x, n in ((x_a, n_a), (x_b, n_b)):
        if n < 0 or x < 0 or x > n:
            raise ValueError(f"successes must be between 0 and the group size (got {x} of {n})")
    if n_a == 0 or n_b == 0:
        return None
    p_a, p_b = x_a / n_a, x_b / n_b
    pooled = (x_a + x_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se_pooled == 0:
        return None
    diff = p_b - p_a
    p = float(min(1.0, 2 * st.norm.sf(abs(diff) / se_pooled)))
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half = float(st.norm.ppf(1 - alpha / 2)) * se
    return Effect("two_proportions", n_a, n_b, p_a, p_b, diff, _rel(diff, p_a), diff - half, diff + half, p, None)


def sample_ratio(n_a: int, n_b: int, expected_b_share: float = 0.5) -> tuple[float, float, bool]:
    """Sample-ratio check: (chi-square, p-value, flagged at p < 0.001) of the observed group sizes
    against the planned share of group b. No units at all gives (0.0, 1.0, False)."""
    from scipy import stats as st  # imported when a trial is read: scipy.stats takes ~0.5 s to load
    if not 0 < expected_b_share < 1:
        raise ValueError(f"the planned share must be between 0 and 1 (got {expected_b_share!r})")
    if n_a < 0 or n_b < 0:
        raise ValueError("group sizes cannot be negative")
    total = n_a + n_b
    if total == 0:
        return 0.0, 1.0, False
    e_b = total * expected_b_share
    e_a = total - e_b
    chi2 = (n_a - e_a) ** 2 / e_a + (n_b - e_b) ** 2 / e_b
    p = float(st.chi2.sf(chi2, 1))
    return float(chi2), p, p < SRM_THRESHOLD


# --------------------------------------------------------------------------------------------
# Moments (gbstats): the effect estimate and its standard error
# --------------------------------------------------------------------------------------------
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Paired:
    """One group's units with two values each: during the trial (``post``) and in the pre-period
    (``pre``, 0 for a unit without one), with the sum of their products."""

    post: Summary
    pre: Summary
    sum_products: float

    def __post_init__(self) -> None:
        if self.post.n != self.pre.n:
            raise ValueError(f"post and pre must count the same units (got {self.post.n} and {self.pre.n})")

    @classmethod
    def of(cls, post: Sequence[float], pre: Sequence[float]) -> Paired:
        if len(post) != len(pre):
            raise ValueError("post and pre need one value per unit each")
        return cls(Summary.of(post), Summary.of(pre), math.fsum(float(y) * float(x) for y, x in zip(post, pre, strict=True)))

    @property
    def n(self) -> int:
        return self.post.n


@dataclass(frozen=True)
class Moments:
    """The effect b − a (``relative``: (b − a) / |mean_a|) with its standard error. ``mean_a`` and
    ``mean_b`` are the groups' plain means (before any CUPED adjustment); ``n`` the units of both
    groups; ``df`` the Welch–Satterthwaite degrees of freedom (None: use the normal);
    ``variance_reduction`` (CUPED only) the share of the effect's variance the pre-period removed."""

    estimate: float
    se: float
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    relative: bool
    df: float | None = None
    theta: float | None = None
    variance_reduction: float | None = None

    @property
    def n(self) -> int:
        return self.n_a + self.n_b


def _var(s: Summary, kind: str) -> float:
    """gbstats' variance of one group's values: p(1 − p) for a 0/1 outcome, else ddof 1."""
    if kind == "proportion":
        p = s.mean
        return p * (1 - p)
    return s.var


def _welch_df(va: float, n_a: int, vb: float, n_b: int) -> float | None:
    den = va * va / (n_a * n_a * (n_a - 1)) + vb * vb / (n_b * n_b * (n_b - 1))
    return (va / n_a + vb / n_b) ** 2 / den if den > 0 else None


def _moments(mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int,
             raw_a: float, raw_b: float, relative: bool, rel_var: float | None = None, **extra) -> Moments | None:
    if relative:
        if raw_a == 0:
            return None
        estimate = (mean_b - mean_a) / abs(raw_a)
        variance = rel_var if rel_var is not None else \
            var_b / n_b / raw_a ** 2 + var_a / n_a * raw_b ** 2 / raw_a ** 4  # delta method, no covariance
    else:
        estimate, variance = mean_b - mean_a, var_b / n_b + var_a / n_a
    if not variance > 0 or not math.isfinite(variance):
        return None
    return Moments(estimate, math.sqrt(variance), n_a, n_b, raw_a, raw_b, relative,
                   _welch_df(var_a, n_a, var_b, n_b), **extra)


def moments(a: Summary, b: Summary, *, kind: str = "mean", relative: bool = False) -> Moments | None:
    """The effect of b against a from the groups' sufficient statistics; None when a group has
    fewer than 2 units, nothing varies, or (relative) the baseline mean is 0."""
    if a.n < 2 or b.n < 2:
        return None
    return _moments(a.mean, _var(a, kind), a.n, b.mean, _var(b, kind), b.n, a.mean, b.mean, relative)


def _cov(g: Paired, kind: str) -> float:
    """gbstats' covariance of post and pre within a group (population form for 0/1 outcomes)."""
    n = g.n
    if kind == "proportion":
        return g.sum_products / n - g.post.sum * g.pre.sum / (n * n)
    return (g.sum_products - g.post.sum * g.pre.sum / n) / (n - 1)


def cuped_theta(a: Paired, b: Paired, kind: str = "mean") -> float:
    """θ = cov(post, pre) / var(pre) over the units of both groups together (gbstats' pooled θ);
    0 when either value does not vary."""
    both = Paired(Summary(a.n + b.n, a.post.sum + b.post.sum, a.post.sum_sq + b.post.sum_sq),
                  Summary(a.n + b.n, a.pre.sum + b.pre.sum, a.pre.sum_sq + b.pre.sum_sq),
                  a.sum_products + b.sum_products)
    var_pre, var_post = _var(both.pre, kind), _var(both.post, kind)
    if not var_pre > 0 or not var_post > 0:
        return 0.0
    return _cov(both, kind) / var_pre


def cuped(a: Paired, b: Paired, *, kind: str = "mean", relative: bool = False) -> Moments | None:
    """The effect of b against a with CUPED: each unit's value y adjusted to y − θ·x by its
    pre-period value x (``cuped_theta``). Mean and variance per group: ȳ − θ·x̄ and
    var(y) + θ²·var(x) − 2θ·cov(y, x). The relative effect divides by the plain control mean
    (gbstats' delta-method variance for CUPED). None as for ``moments``."""
    if a.n < 2 or b.n < 2:
        return None
    theta = cuped_theta(a, b, kind)
    adj = []
    for g in (a, b):
        vy, vx, c = _var(g.post, kind), _var(g.pre, kind), _cov(g, kind)
        adj.append((g.post.mean - theta * g.pre.mean, vy + theta * theta * vx - 2 * theta * c, vy, vx, c))
    (ma, va, vya, vxa, ca), (mb, vb, vyb, _vxb, _cb) = adj
    raw_a, raw_b = a.post.mean, b.post.mean
    plain = vya / a.n + vyb / b.n
    rel_var = None
    if relative and raw_a != 0:
        v_b = vb / (b.n * raw_a ** 2)
        k = -raw_b
        v_a = (vya * k * k / raw_a ** 2 + 2 * theta * ca * k / raw_a + theta * theta * vxa) / (a.n * raw_a ** 2)
        rel_var = v_b + v_a
        plain = vyb / b.n / raw_a ** 2 + vya / a.n * raw_b ** 2 / raw_a ** 4
    m = _moments(ma, va, a.n, mb, vb, b.n, raw_a, raw_b, relative, rel_var, theta=theta)
    if m is None:
        return None
    reduction = 1 - m.se ** 2 / plain if plain > 0 else None
    return Moments(m.estimate, m.se, m.n_a, m.n_b, m.mean_a, m.mean_b, relative, m.df, theta, reduction)


# --------------------------------------------------------------------------------------------
# Readouts on moments
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """A two-sided test's reading: the interval of the effect and the p-value."""

    low: float
    high: float
    p_value: float


def t_test(m: Moments, alpha: float = ALPHA) -> Interval:
    """The fixed-horizon two-sided test on moments (gbstats' TwoSidedTTest): t with ``m.df``
    degrees of freedom, the normal when there are none."""
    from scipy import stats as st  # imported when a trial is read: scipy.stats takes ~0.5 s to load
    _check_alpha(alpha)
    z = m.estimate / m.se
    if m.df is None:
        return Interval(m.estimate - _NORMAL.inv_cdf(1 - alpha / 2) * m.se,
                        m.estimate + _NORMAL.inv_cdf(1 - alpha / 2) * m.se, 2 * _NORMAL.cdf(-abs(z)))
    half = float(st.t.ppf(1 - alpha / 2, m.df)) * m.se
    return Interval(m.estimate - half, m.estimate + half, float(min(1.0, 2 * st.t.sf(abs(z), m.df))))


SEQUENTIAL_TUNING = 5000  # gbstats' default: the total units the mixture is tuned for


def sequential_rho(alpha: float, tuning: float) -> float:
    """The mixture width ρ that makes the interval narrowest at ``tuning`` units (eq. 161)."""
    la = -2 * math.log(alpha)
    return math.sqrt((la + math.log(la + 1)) / tuning)


def sequential(m: Moments, *, tuning: float = SEQUENTIAL_TUNING, alpha: float = ALPHA) -> Interval:
    """Always-valid two-sided interval and p-value (gbstats' SequentialTwoSidedTTest): with
    n = all units, s² = se²·n and ρ from ``tuning``, the half width is
    s·√(2(nρ² + 1)·ln(√(nρ² + 1)/α) / (nρ)²) and p = min(1, 1/e-value) with
    e-value = exp(ρ²·n·z² / (2(nρ² + 1))) / √(nρ² + 1)."""
    _check_alpha(alpha)
    if not tuning > 0:
        raise ValueError(f"the sequential tuning must be positive (got {tuning!r})")
    rho2 = sequential_rho(alpha, tuning) ** 2
    n = m.n
    t = n * rho2 + 1
    half = m.se * math.sqrt(n) * math.sqrt(2 * t * math.log(math.sqrt(t) / alpha) / (n * n * rho2))
    st2 = (m.estimate / m.se) ** 2 * n
    log_e = rho2 * st2 / (2 * t) - 0.5 * math.log(t)
    p = 1.0 if log_e <= 0 else math.exp(-log_e)
    return Interval(m.estimate - half, m.estimate + half, min(p, 1.0))


@dataclass(frozen=True)
class Bayes:
    """gbstats' Gaussian readout of an effect. ``chance_to_win``: P(the treatment is better);
    ``risk``: the expected loss of choosing the treatment, ``risk_control`` of keeping the
    control (in the effect's own scale: relative effects as fractions); ``ci_low``/``ci_high``
    the credible interval; ``mean``/``sd`` the posterior."""

    mean: float
    sd: float
    chance_to_win: float
    risk: float
    risk_control: float
    ci_low: float
    ci_high: float
    relative: bool


def normal_risk(mu: float, sigma: float) -> tuple[float, float]:
    """(E[max(X, 0)], E[max(−X, 0)]) for X ~ N(mu, sigma²): the expected loss of keeping the
    control and of choosing the treatment (closed form of gbstats' truncated-normal means)."""
    if sigma <= 0:
        return max(mu, 0.0), max(-mu, 0.0)
    z = mu / sigma
    dens = sigma * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return mu * _NORMAL.cdf(z) + dens, dens - mu * _NORMAL.cdf(-z)


def bayesian(m: Moments, *, higher_is_better: bool = True, prior: tuple[float, float] | None = None,
             alpha: float = ALPHA) -> Bayes:
    """The posterior of the effect under gbstats' Gaussian model: the data's estimate with its
    standard error, combined with a proper normal prior (mean, variance) when given, else flat.
    For a metric where lower is better, winning means a negative effect."""
    _check_alpha(alpha)
    prec = 1 / m.se ** 2
    if prior is None:
        mean, var = m.estimate, m.se ** 2
    else:
        pm, pv = prior
        if not pv > 0:
            raise ValueError(f"the prior variance must be positive (got {pv!r})")
        post = prec + 1 / pv
        mean, var = (m.estimate * prec + pm / pv) / post, 1 / post
    sd = math.sqrt(var)
    up = 1 - _NORMAL.cdf(-mean / sd)
    loss_control, loss_treatment = normal_risk(mean, sd)
    if not higher_is_better:
        up, loss_control, loss_treatment = 1 - up, loss_treatment, loss_control
    q = _NORMAL.inv_cdf(1 - alpha / 2)
    return Bayes(mean, sd, up, loss_treatment, loss_control, mean - q * sd, mean + q * sd, m.relative)


def mde(a: Summary, b: Summary, *, kind: str = "mean", alpha: float = ALPHA, power: float = 0.8) -> float | None:
    """The smallest relative effect (a fraction of mean_a) a fixed-horizon two-sided test at
    ``alpha`` finds with chance ``power``, with these groups' sizes and spread:
    (z₁₋α/₂ + z_power)·√(var_a/n_a + var_b/n_b) / mean_a. None without a baseline or spread."""
    _check_alpha(alpha)
    if not 0 < power < 1:
        raise ValueError(f"power must be between 0 and 1 (got {power!r})")
    if a.n < 2 or b.n < 2 or not a.mean:
        return None
    se = math.sqrt(_var(a, kind) / a.n + _var(b, kind) / b.n)
    if not se > 0:
        return None
    return (_NORMAL.inv_cdf(1 - alpha / 2) + _NORMAL.inv_cdf(power)) * se / abs(a.mean)


# --------------------------------------------------------------------------------------------
# Plain language
# --------------------------------------------------------------------------------------------
TOO_LITTLE = "too little data to tell"


def format_p(p: float) -> str:
    """'p < 0.001', 'p = 0.004', 'p = 0.02', 'p = 0.40'."""
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def _signed(value: float, decimals: int) -> str:
    text = f"{abs(value):.{decimals}f}"
    if float(text) == 0:
        return text
    return ("+" if value > 0 else "-") + text


def format_change(effect: Effect, unit: str = "") -> str:
    """The change b − a in words: relative ('+12 %', '-3.4 %') when the baseline is not 0, else
    absolute ('+5.0 points' for rates, '+0.29 h' with a unit)."""
    if effect.rel_effect is not None:
        rel = effect.rel_effect * 100
        return f"{_signed(rel, 1 if abs(rel) < 10 else 0)} %"
    if effect.test == "two_proportions":
        return f"{_signed(effect.abs_effect * 100, 1)} points"
    text = f"{_signed(effect.abs_effect, 2)}"
    return f"{text} {unit}".rstrip()


def reading(effect: Effect | None, label: str, *, higher_is_better: bool = True, unit: str = "") -> str:
    """A plain-language reading of an effect:

    * ``"+12 % replies within 1 h, likely real (p = 0.01)"`` (a real change for the better),
    * ``"+30 % first response time, likely real and worse (p = 0.003)"`` (a real change for the worse),
    * ``"no clear difference in replies within 1 h (+3.0 %, p = 0.40)"``,
    * ``"too little data to tell"`` (``effect`` is None).
    """
    if effect is None or effect.p_value is None:
        return TOO_LITTLE
    change = format_change(effect, unit)
    p = format_p(effect.p_value)
    if not effect.significant:
        return f"no clear difference in {label} ({change}, {p})"
    better = (effect.abs_effect > 0) == higher_is_better
    return f"{change} {label}, likely real ({p})" if better else f"{change} {label}, likely real and worse ({p})"


def verdict(effect: Effect | None, *, higher_is_better: bool = True) -> str:
    """'better' | 'worse' | 'no clear difference' | 'too little data' (significance at p < 0.05)."""
    if effect is None or effect.p_value is None:
        return "too little data"
    if not effect.significant or effect.abs_effect == 0:
        return "no clear difference"
    return "better" if (effect.abs_effect > 0) == higher_is_better else "worse"
