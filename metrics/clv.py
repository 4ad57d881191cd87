"""Customer lifetime value: BG/NBD (purchase counts) and Gamma-Gamma (spend), in plain scipy.

Data contract: per customer ``x`` = frequency (repeat purchase days), ``t_x`` = recency (time from
first to last purchase), ``T`` = age (time from first purchase to the calibration end), all in
one time unit, and ``m`` = mean value of the repeat purchases (Gamma-Gamma only, customers with
``x > 0`` and ``m > 0``).

Models and formulas:
* BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
  expectation eq. (10) with the Gaussian hypergeometric function.
* Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": the density of
  the mean spend ``m_x`` and the conditional expectation ``(gamma + m x) p / (p x + q - 1)``.

Why our own module instead of a library: ``lifetimes`` (the reference implementation) still
runs on pandas 3 / numpy 2 but has had no release since 2020 and carries no type hints; its
successor ``pymc-marketing`` is maintained but brings PyMC, PyTensor and ArviZ (hundreds of MB,
compile step) for what is, in the maximum-likelihood case, two closed-form log-likelihoods and a
``scipy.optimize.minimize`` call. This module is those few dozen lines, typed, and checked against
the published CDNOW estimates (tests/test_clv.py). Parameters are fitted on their logarithms (so
they stay positive) with L-BFGS-B (Nelder-Mead as the fallback), on the distinct (x, t_x, T) rows
weighted by their count, with the x-only terms computed once per distinct x: that keeps a
100,000-customer fit within seconds.

Degenerate input (no customers, no repeat buyers, a fit that does not converge) gives a fit whose
``error`` says why and whose parameters are NaN, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

__all__ = [
    "BGNBDFit",
    "GammaGammaFit",
    "bgnbd_log_likelihood",
    "clv",
    "expected_average_value",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "p_alive",
]

Array = np.ndarray


@dataclass(frozen=True)
class BGNBDFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # total over customers
    n: int  # customers
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    gamma: float
    log_likelihood: float  # total over repeat buyers
    n: int  # repeat buyers
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _arr(*values) -> list[Array]:
    return [np.asarray(v, dtype=float) for v in values]


def _check_rft(x: Array, t_x: Array, T: Array) -> None:
    if not (x.shape == t_x.shape == T.shape):
        raise ValueError("frequency, recency and T must have the same length")
    if len(x) and ((x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any()):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T")


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------
def bgnbd_log_likelihood(r: float, alpha: float, a: float, b: float, x, t_x, T) -> Array:
    """Per-customer log-likelihood (FHL 2005, eq. 6), written with log-sum-exp for stability."""
    x, t_x, T = _arr(x, t_x, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                      -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _unique_weighted(*cols: Array) -> tuple[list[Array], Array]:
    stacked = np.column_stack(cols)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


LOG_BOUND = 12.0  # parameters live in [e^-12, e^12] ~ [6e-6, 1.6e5]: beyond, gammaln loses precision


def _fit(neg_ll, start: Array) -> tuple[Array, float, bool]:
    """Minimise on log-parameters with L-BFGS-B (numerical gradient, bounded); when it reports
    failure, Nelder-Mead from its end point gets a second chance. ``ok`` is False when the fit
    failed or ran to a bound (the data do not pin the parameters down)."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    res = minimize(neg_ll, start, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000})
    if not res.success:
        res = minimize(neg_ll, res.x, method="Nelder-Mead", bounds=bounds,
                       options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20_000, "maxfev": 40_000})
    at_bound = bool((np.abs(res.x) > LOG_BOUND - 1e-3).any())
    return np.exp(res.x), float(res.fun), bool(res.success) and bool(np.isfinite(res.fun)) and not at_bound


def fit_bgnbd(x, t_x, T) -> BGNBDFit:
    """Maximum-likelihood BG/NBD parameters (r, alpha, a, b) and the total log-likelihood."""
    x, t_x, T = _arr(x, t_x, T)
    _check_rft(x, t_x, T)
    n = len(x)
    nan = float("nan")
    if n == 0:
        return BGNBDFit(nan, nan, nan, nan, nan, 0, "no customers")
    if not (x > 0).any():
        return BGNBDFit(nan, nan, nan, nan, nan, n, "no repeat purchases: the model cannot be fitted")
    (ux, ut, uT), w = _unique_weighted(x, t_x, T)
    # Terms that depend on x only are computed once per distinct x (few) and spread by index.
    xs, inv = np.unique(ux, return_inverse=True)
    pos = ux > 0
    scale = float(np.mean(T)) or 1.0  # start alpha near the typical age

    def neg_ll(theta: Array) -> float:
        r, alpha, a, b = np.exp(theta)
        by_x = (gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
                + gammaln(a + b) + gammaln(b + xs) - gammaln(b) - gammaln(a + b + xs))
        a3 = -(r + ux) * np.log(alpha + uT)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(pos, np.log(a) - np.log(np.maximum(b + ux - 1, 1e-300)) - (r + ux) * np.log(alpha + ut),
                          -np.inf)
        value = -float(np.dot(w, by_x[inv] + np.logaddexp(a3, a4))) / n
        return value if np.isfinite(value) else 1e300

    params, fun, ok = _fit(neg_ll, np.log(np.array([1.0, scale, 1.0, 1.0])))
    r, alpha, a, b = (float(v) for v in params)
    if not ok:
        return BGNBDFit(nan, nan, nan, nan, nan, n, "the BG/NBD fit did not converge to finite parameters "
                        "(too few or too regular repeat purchases)")
    return BGNBDFit(r, alpha, a, b, -fun * n, n)


def p_alive(fit: BGNBDFit, x, t_x, T) -> Array:
    """P(a customer with history (x, t_x, T) is still alive) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
    x, t_x, T = _arr(x, t_x, T)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = (np.log(fit.a) - np.log(np.maximum(fit.b + x - 1, 1e-300))
                     + (fit.r + x) * (np.log(fit.alpha + T) - np.log(fit.alpha + t_x)))
        out = np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)
    return np.clip(out, 0.0, 1.0)


def expected_purchases(fit: BGNBDFit, t, x, t_x, T) -> Array:
    """Expected purchases in the next ``t`` time units given the history (FHL 2005, eq. 10)."""
    x, t_x, T = _arr(x, t_x, T)
    t = float(t)
    if t <= 0:
        return np.zeros_like(x)
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    if abs(a - 1) < 1e-7:  # removable singularity of the closed form at a = 1
        a = 1 + 1e-7
    z = t / (alpha + T + t)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    num = (a + b + x - 1) / (a - 1) * (1 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp)
    return num * p_alive(fit, x, t_x, T)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------
def gamma_gamma_log_likelihood(p: float, q: float, gamma: float, x, m) -> Array:
    """Per-customer log density of the mean spend ``m`` over ``x`` repeat purchases (FH 2013)."""
    x, m = _arr(x, m)
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + m * x))


def fit_gamma_gamma(x, m) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters (p, q, gamma) on repeat buyers (x > 0, m > 0)."""
    x, m = _arr(x, m)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    n = len(x)
    nan = float("nan")
    if n < 2:
        return GammaGammaFit(nan, nan, nan, nan, n, "too few repeat buyers with a positive spend")
    (ux, um), w = _unique_weighted(x, m)
    xs, inv = np.unique(ux, return_inverse=True)
    log_m, log_xs = np.log(um), np.log(xs)

    def neg_ll(theta: Array) -> float:
        p, q, g = np.exp(theta)
        pxs = p * xs
        by_x = gammaln(pxs + q) - gammaln(pxs) - gammaln(q) + q * np.log(g) + pxs * log_xs
        px = pxs[inv]
        value = -float(np.dot(w, by_x[inv] + (px - 1) * log_m - (px + q) * np.log(g + um * ux))) / n
        return value if np.isfinite(value) else 1e300

    params, fun, ok = _fit(neg_ll, np.log(np.array([1.0, 1.0, float(np.mean(m))])))
    p, q, g = (float(v) for v in params)
    if not ok:
        return GammaGammaFit(nan, nan, nan, nan, n, "the Gamma-Gamma fit did not converge to finite parameters")
    return GammaGammaFit(p, q, g, -fun * n, n)


def expected_average_value(fit: GammaGammaFit, x, m) -> Array:
    """E[mean spend | x, m] = (gamma + m x) p / (p x + q - 1); with x = 0 the population mean p gamma / (q - 1)."""
    x, m = _arr(x, m)
    m = np.where(x > 0, np.maximum(m, 0.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (fit.gamma + m * x) * fit.p / (fit.p * x + fit.q - 1)


def clv(bg: BGNBDFit, gg: GammaGammaFit, x, t_x, T, m, *, horizon_steps: int = 12, step: float = 4.348,
        discount_rate: float = 0.0) -> Array:
    """Discounted value of the next ``horizon_steps`` steps of ``step`` time units each:
    sum_k (E[Y(k step)] - E[Y((k-1) step)]) * E[M] / (1 + discount_rate)^k (discount per step;
    the default step is a month in weeks)."""
    if horizon_steps < 1 or step <= 0 or discount_rate < 0:
        raise ValueError("need horizon_steps >= 1, step > 0 and discount_rate >= 0")
    x, t_x, T, m = _arr(x, t_x, T, m)
    value = expected_average_value(gg, x, m)
    total = np.zeros_like(x)
    prev = np.zeros_like(x)
    for k in range(1, horizon_steps + 1):
        cum = expected_purchases(bg, k * step, x, t_x, T)
        total += (cum - prev) / (1 + discount_rate) ** k
        prev = cum
    return total * value
