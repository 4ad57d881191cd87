"""The Python API, notebook style: a few metrics of a workspace and one chart, no Streamlit.

    python examples/api_example.py [WORKSPACE] [OUT_DIR]

Without arguments it builds the Sample into ./workspaces (as the app does on first start) and
writes ``participation.png`` (an Altair chart, rendered offline by vl-convert) and ``growth.csv`` into ./example_output.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402

from datastore.workspace import open_workspace  # noqa: E402
from metrics import REGISTRY, Computer, Filters  # noqa: E402


def main(workspace: str | None = None, out_dir: str = "example_output") -> dict:
    if workspace is None:
        from sample_data.build import ensure_sample

        workspace = str(ensure_sample(ROOT / "workspaces"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = open_workspace(workspace)  # brings the derived tables up to date first
    try:
        c = Computer(con)  # several metrics; each parent computed once
        everyone = Filters()
        # 1. Participation: the share of the community active each month (activity, not size).
        rate = c.frame("participation_rate", everyone, grain="month")
        print(rate.tail(3).to_string(index=False))
        # 2. Growth accounting and its projection, the quick ratio (no second query).
        growth = c.frame("growth_accounting", everyone, grain="month")
        quick = c.frame("quick_ratio", everyone, grain="month")
        growth.to_csv(out / "growth.csv", index=False)
        # 3. A filter: the forum only (filters are the same as the sidebar's).
        forum = c.frame("participation_rate", Filters(channels=("forum",)), grain="month")
        # 4. What a metric's options are, with their help and defaults.
        print(REGISTRY["retention"].options.describe()["window"])
        # 5. One chart: participation rate, everyone vs the forum.
        both = pd.concat([rate.assign(scope="everyone"), forum.assign(scope="forum")])[["period", "value", "scope"]]
        chart = alt.Chart(both).mark_line(point=True).encode(
            x=alt.X("period:T", title="month"), y=alt.Y("value:Q", title="participation rate", axis=alt.Axis(format="%")),
            color="scope:N", tooltip=["period:T", alt.Tooltip("value:Q", format=".1%"), "scope:N"])
        chart.save(str(out / "participation.png"))
        return {"months": len(rate), "latest_quick_ratio": float(quick["value"].dropna().iloc[-1]),
                "files": sorted(p.name for p in out.iterdir())}
    finally:
        con.close()


if __name__ == "__main__":
    print(main(*sys.argv[1:3]))
