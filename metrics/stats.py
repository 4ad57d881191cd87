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
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

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
