"""BG/NBD and Gamma-Gamma (metrics.clv) against the published CDNOW results, plus properties.

Oracle: Fader, Hardie & Lee (2005) fit BG/NBD on the CDNOW 1/10 sample (2,357 customers, 39-week
calibration period ending 1997-09-30, weeks): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
LL = -9582.4. Fader & Hardie (2013) fit Gamma-Gamma on its 946 repeat buyers: p = 6.25, q = 3.74,
gamma = 15.44. The data file (tests/data/cdnow_sample.csv) comes from the lifetimes wheel (MIT);
see tests/data/CDNOW_ATTRIBUTION.md. The frequency / recency / T summary is derived here through
the workspace path (transactions table -> metrics.development.rfm), not taken from a summary file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics import Filters
from metrics import clv as clvm
from metrics.development import rfm
from metrics.source import Source
from tests.metric_support import compute, insert_rows

CDNOW = Path(__file__).parent / "data" / "cdnow_sample.csv"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    """(connection, rfm frame) of a workspace holding the CDNOW sample as transactions."""
    from datastore.workspace import open_workspace

    con = open_workspace(tmp_path_factory.mktemp("cdnow") / "cdnow.duckdb")
    raw = pd.read_csv(CDNOW, dtype={"customer_id": "str", "sample_id": "str", "date": "str"})
    frame = pd.DataFrame({
        "member_id": raw["customer_id"],
        "occurred_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "amount": raw["amount"],
        "transaction_id": [f"T{i}" for i in range(len(raw))],
    })
    insert_rows(con, "transactions", frame)
    from derived.sync import sync

    sync(con)
    with con.cursor() as cur:
        frame = rfm(Source(cur, Filters()), calibration_end=date(1997, 9, 30), unit="week")
    yield con, frame
    con.close()


@pytest.fixture
def cdnow_rfm(cdnow) -> pd.DataFrame:
    return cdnow[1]


def test_cdnow_summary(cdnow_rfm):
    r = cdnow_rfm
    assert len(r) == 2357
    assert int((r["frequency"] > 0).sum()) == 946
    # Customer 00004 (ID 1 in Hardie's summary): purchases 1997-01-01, 01-18, 08-02 (+ 12-12 after
    # the calibration end) -> x = 2, t_x = 213 days / 7 = 30.43, T = 272 days / 7 = 38.86,
    # mean repeat spend (29.73 + 14.96) / 2 = 22.345.
    one = r.set_index("member_id").loc["00004"]
    assert one["frequency"] == 2
    assert round(one["recency"], 2) == 30.43
    assert round(one["T"], 2) == 38.86
    assert round(one["monetary_value"], 3) == 22.345


def test_cdnow_bgnbd_published_parameters(cdnow_rfm):
    r = cdnow_rfm
    fit = clvm.fit_bgnbd(r["frequency"], r["recency"], r["T"])
    assert fit.ok and fit.n == 2357
    assert (round(fit.r, 3), round(fit.alpha, 3), round(fit.a, 3), round(fit.b, 3)) == (0.243, 4.414, 0.793, 2.426)
    assert round(fit.log_likelihood, 1) == -9582.4  # published LL
    # The paper's worked example (also in lifetimes' docs): x = 2, t_x = 30.43, T = 38.86 expects
    # 1.226 purchases in the next 39 weeks.
    assert round(float(clvm.expected_purchases(fit, 39, [2], [30.43], [38.86])[0]), 3) == 1.226


def test_cdnow_gamma_gamma_published_parameters(cdnow_rfm):
    r = cdnow_rfm
    fit = clvm.fit_gamma_gamma(r["frequency"], r["monetary_value"])
    assert fit.ok and fit.n == 946
    assert (round(fit.p, 2), round(fit.q, 2), round(fit.gamma, 2)) == (6.25, 3.74, 15.44)
    # Log-likelihood of our density (with the x^(p x) term): regression value, -4055.9.
    assert round(fit.log_likelihood, 1) == -4055.9
    # Population mean spend p * gamma / (q - 1) = 6.25 * 15.44 / 2.74 ~ 35.2 (x = 0 customers).
    assert round(float(clvm.expected_average_value(fit, [0], [0])[0]), 1) == 35.2


def test_cdnow_through_the_metric(cdnow):
    cust = compute(cdnow[0], "customer_lifetime_value", calibration_end="1997-09-30", unit="week")
    assert cust.attrs["error"] is None
    params = compute(cdnow[0], "clv_parameters", calibration_end="1997-09-30", unit="week")
    params = params.set_index(["model", "parameter"])["value"]
    assert round(params[("BG/NBD", "r")], 3) == 0.243 and round(params[("Gamma-Gamma", "q")], 2) == 3.74
    assert len(cust) == 2357 and cust["clv"].is_monotonic_decreasing
    assert cust["p_alive"].between(0, 1).all() and (cust["expected_purchases"] >= 0).all()


def test_degenerate_input_gives_an_error_not_an_exception():
    assert clvm.fit_bgnbd([], [], []).error == "no customers"
    fit = clvm.fit_bgnbd([0, 0], [0, 0], [5, 3])
    assert not fit.ok and "no repeat" in fit.error and np.isnan(fit.r)
    assert not clvm.fit_gamma_gamma([1], [10.0]).ok
    with pytest.raises(ValueError):
        clvm.fit_bgnbd([1], [5], [3])  # recency > T


def test_clv_discounting_and_options():
    fit = clvm.BGNBDFit(0.243, 4.414, 0.793, 2.426, 0.0, 1)
    gg = clvm.GammaGammaFit(6.25, 3.74, 15.44, 0.0, 1)
    args = ([2, 0], [30.43, 0], [38.86, 38.86], [22.35, 0])
    plain = clvm.clv(fit, gg, *args, horizon_steps=12, step=4.348)
    disc = clvm.clv(fit, gg, *args, horizon_steps=12, step=4.348, discount_rate=0.01)
    assert (disc < plain).all() and (disc > 0).all()
    # Undiscounted CLV = expected purchases over the horizon x expected average value.
    ey = clvm.expected_purchases(fit, 12 * 4.348, *args[:3])
    assert np.allclose(plain, ey * clvm.expected_average_value(gg, args[0], args[3]))
    with pytest.raises(ValueError):
        clvm.clv(fit, gg, *args, horizon_steps=0)


@settings(max_examples=100, deadline=None)
@given(
    r=st.floats(0.05, 5), alpha=st.floats(0.5, 50), a=st.floats(0.05, 5), b=st.floats(0.05, 10),
    x=st.integers(0, 60), frac=st.floats(0, 1), T=st.floats(0.1, 200), t=st.floats(0.1, 100),
)
def test_p_alive_and_expectations_are_well_behaved(r, alpha, a, b, x, frac, T, t):
    fit = clvm.BGNBDFit(r, alpha, a, b, 0.0, 1)
    t_x = frac * T if x > 0 else 0.0
    p = clvm.p_alive(fit, [x], [t_x], [T])[0]
    assert 0.0 <= p <= 1.0
    if x == 0:
        assert p == 1.0
    e1 = clvm.expected_purchases(fit, t, [x], [t_x], [T])[0]
    e2 = clvm.expected_purchases(fit, 2 * t, [x], [t_x], [T])[0]
    if np.isfinite(e1) and np.isfinite(e2):
        assert e1 >= -1e-9 and e2 >= e1 - 1e-9 * max(1.0, abs(e1))
