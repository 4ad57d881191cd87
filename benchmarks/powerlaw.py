"""A second data shape for benchmarks: an independent power-law community, written as CSV exports.

Not the sample generator (a design benchmarked only on its own generator flatters itself). The
shape differs on purpose: many members (one per ~33 interactions; 300 k at 10 M), Pareto activity
(a few members produce most of it, ~40 % never take part), every member active only within a
lifetime window of their own, 15 % outbound rows of which ~40 % are replies carrying
``in_reply_to`` (the rest broadcasts that customers comment on), ~15 transaction lines per 100
interactions with ~4 % refunds, a 2.5-year span (2024-01-01 .. 2026-06-30) and English headers a
CRM or a social-listening tool would write.

    python -m benchmarks.powerlaw --interactions 1000000 --out bench_out/powerlaw-1000000

writes ``members.csv``, ``interactions.csv`` and ``transactions.csv`` (UTF-8, ``,``, ISO times).
Everything is vectorised numpy + pyarrow; the same arguments give the same files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

START = np.datetime64("2024-01-01T00:00:00", "s")
END = np.datetime64("2026-07-01T00:00:00", "s")
SPAN = int((END - START) / np.timedelta64(1, "s"))
DAY = 86_400
CHANNELS = np.array(["x", "facebook", "instagram", "linkedin", "forum", "email", "chat", "phone"])
SOCIAL = np.array([0, 1, 2, 3])
INBOUND_ACTIONS = np.array(["like", "comment", "post", "reply", "share", "mention", "review"])
INBOUND_P = np.array([0.30, 0.25, 0.15, 0.10, 0.08, 0.07, 0.05])
ANSWERABLE = np.array([False, True, True, True, False, True, True])
SEGMENTS = np.array(["bronze", "silver", "gold", "platinum", "business"])
CAMPAIGNS = np.array([f"cmp-{k:02d}" for k in range(12)])
HOUR_P = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3.5, 4, 4, 4, 4.5, 4.5, 4, 4, 4, 4.5, 5, 5.5, 5.5, 5, 3.5, 2])


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(prefix), pc.cast(pa.array(numbers), pa.string()), "")


def _cat(*parts) -> pa.ChunkedArray:
    """Concatenate arrays and chunked arrays (pyarrow returns either, depending on size)."""
    chunks = []
    for p in parts:
        chunks += p.chunks if isinstance(p, pa.ChunkedArray) else [p]
    return pa.chunked_array(chunks)


def _times(seconds: np.ndarray) -> pa.Array:
    return pa.array(START + seconds.astype("timedelta64[s]"), pa.timestamp("s"))


def _with_hour(rng: np.random.Generator, seconds: np.ndarray) -> np.ndarray:
    """Keep the day, draw the hour from a daily profile (quiet nights, busy evenings)."""
    day = seconds // DAY
    hour = rng.choice(24, size=len(seconds), p=HOUR_P / HOUR_P.sum())
    return day * DAY + hour * 3600 + rng.integers(0, 3600, len(seconds))


def generate(interactions: int, seed: int = 11) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    n_members = max(2000, interactions // 33)
    n_out = int(interactions * 0.15)
    n_in = interactions - n_out

    # Members: joined over the span (a third before it), Pareto activity weight, own lifetime.
    joined = rng.integers(-SPAN // 2, SPAN - 30 * DAY, n_members)
    churned = np.where(rng.random(n_members) < 0.12, joined + rng.exponential(300 * DAY, n_members).astype(np.int64), -1)
    churned = np.where((churned > 0) & (churned < SPAN), churned, -1)
    weight = np.where(rng.random(n_members) < 0.6, (1 - rng.random(n_members)) ** (-1 / 1.15), 0.0)
    life_start = np.maximum(joined, 0) + rng.exponential(40 * DAY, n_members).astype(np.int64)
    life_len = rng.exponential(260 * DAY, n_members).astype(np.int64) + DAY
    life_end = np.minimum(np.minimum(life_start + life_len, SPAN - 1), np.where(churned > 0, churned, SPAN - 1))
    life_start = np.minimum(life_start, life_end)
    primary = rng.choice(len(CHANNELS), n_members, p=[0.22, 0.2, 0.16, 0.07, 0.12, 0.11, 0.08, 0.04])
    followers = np.floor((1 - rng.random(n_members)) ** (-1 / 1.05) * 40).astype(np.int64)
    employee = np.zeros(n_members, bool)
    employee[rng.choice(n_members, 30, replace=False)] = True
    referred = np.where(rng.random(n_members) < 0.06, rng.integers(0, n_members, n_members), -1)
    member_ids = _ids("C", np.arange(1, n_members + 1) + 1_000_000)

    # Inbound: member by weight (3 % anonymous, 2 % unidentified handles), time in their lifetime.
    p = weight / weight.sum()
    who = rng.choice(n_members, n_in, p=p)
    t_in = _with_hour(rng, life_start[who] + (rng.random(n_in) * (life_end[who] - life_start[who] + 1)).astype(np.int64))
    t_in = np.clip(t_in, 0, SPAN - 1)
    chan = np.where(rng.random(n_in) < 0.7, primary[who], rng.integers(0, len(CHANNELS), n_in))
    act = rng.choice(len(INBOUND_ACTIONS), n_in, p=INBOUND_P)
    kind = rng.random(n_in)
    anon, handle = kind < 0.03, (kind >= 0.03) & (kind < 0.05)
    in_member = pc.if_else(pa.array(anon), pa.nulls(n_in, pa.string()),
                           pc.if_else(pa.array(handle), _ids("H", rng.integers(1, n_members // 4, n_in)),
                                      pc.take(member_ids, pa.array(who))))
    in_ids = np.arange(n_in)

    # Broadcast posts (60 % of outbound) on the social channels; comments on them point at one.
    n_posts = int(n_out * 0.6)
    t_post = np.sort(_with_hour(rng, rng.integers(0, SPAN, n_posts)))
    post_chan = rng.choice(SOCIAL, n_posts)
    on_post = np.isin(act, [1, 3]) & np.isin(chan, SOCIAL) & (rng.random(n_in) < 0.5)
    last_post = np.searchsorted(t_post, t_in[on_post], side="right") - 1
    ok = last_post >= 0
    back = np.minimum(rng.geometric(0.05, ok.sum()) - 1, last_post[ok])
    target = np.full(on_post.sum(), -1)
    target[ok] = last_post[ok] - back
    in_reply = np.full(n_in, -1)
    in_reply[np.flatnonzero(on_post)] = target
    in_reply_to = pc.if_else(pa.array(in_reply >= 0), _ids("P", np.maximum(in_reply, 0)), pa.nulls(n_in, pa.string()))

    # Replies (40 % of outbound) to answerable inbound messages, lognormal delay (median ~3 h).
    n_rep = n_out - n_posts
    answerable = np.flatnonzero(ANSWERABLE[act] & ~anon)
    rep_of = rng.choice(answerable, min(n_rep, len(answerable)), replace=False)
    n_rep = len(rep_of)
    delay = np.exp(rng.normal(np.log(3 * 3600), 1.4, n_rep)).astype(np.int64)
    t_rep = np.clip(t_in[rep_of] + delay, 0, SPAN - 1)
    rep_member = pc.if_else(pa.array(rng.random(n_rep) < 0.8), pc.take(in_member, pa.array(rep_of)),
                            pa.nulls(n_rep, pa.string()))
    agents = _ids("agent-", rng.integers(1, 31, n_rep))

    # Campaign tags on 5 % of inbound rows and 20 % of posts, each campaign in its own weeks.
    c_start = np.sort(rng.integers(0, SPAN - 60 * DAY, len(CAMPAIGNS)))
    in_cmp = (rng.random(n_in) < 0.05)
    cmp_pick = rng.integers(0, len(CAMPAIGNS), n_in)
    in_cmp &= (t_in >= c_start[cmp_pick]) & (t_in < c_start[cmp_pick] + 45 * DAY)
    post_cmp = rng.random(n_posts) < 0.2
    post_pick = np.clip(np.searchsorted(c_start, t_post, side="right") - 1, 0, len(CAMPAIGNS) - 1)

    n_total = n_in + n_posts + n_rep
    null_s = pa.nulls(n_posts, pa.string())
    reach_in = np.where(np.isin(chan, SOCIAL) & np.isin(act, [2, 4, 5]), followers[who], -1)
    inter = pa.table({
        "Timestamp": _cat(_times(t_in), _times(t_post), _times(t_rep)),
        "Platform": pa.array(np.concatenate([CHANNELS[chan], CHANNELS[post_chan], CHANNELS[chan[rep_of]]])),
        "User ID": _cat(in_member, null_s, rep_member),
        "Type": pa.array(np.concatenate([INBOUND_ACTIONS[act], np.full(n_posts, "post"), np.full(n_rep, "reply")])),
        "Direction": pa.array(np.concatenate([np.full(n_in, "inbound"), np.full(n_posts + n_rep, "outbound")])),
        "Message ID": _cat(_ids("M", in_ids), _ids("P", np.arange(n_posts)), _ids("R", np.arange(n_rep))),
        "Reply To": _cat(in_reply_to, null_s, _ids("M", rep_of)),
        "Agent": _cat(pa.nulls(n_in + n_posts, pa.string()), agents),
        "Campaign": _cat(
            pc.if_else(pa.array(in_cmp), pa.array(CAMPAIGNS[cmp_pick]), pa.nulls(n_in, pa.string())),
            pc.if_else(pa.array(post_cmp), pa.array(CAMPAIGNS[post_pick]), null_s),
            pa.nulls(n_rep, pa.string())),
        "Reach": pa.array(np.concatenate([reach_in, rng.integers(200, 50_000, n_posts), np.full(n_rep, -1)]),
                          pa.int64()).to_numpy(zero_copy_only=False),
    })
    inter = inter.set_column(9, "Reach", pc.if_else(pc.less(inter["Reach"], 0), pa.nulls(n_total, pa.int64()),
                                                    inter["Reach"]))
    order = np.argsort(pc.cast(inter["Timestamp"], pa.int64()).to_numpy(), kind="stable")
    inter = inter.take(pa.array(order))

    # Transactions: buyers weighted by activity (plus a base), within their lifetime; refunds negative.
    n_tx = int(interactions * 0.15)
    bw = np.sqrt(weight) + 0.3
    bw[employee] = 0
    buyer = rng.choice(n_members, n_tx, p=bw / bw.sum())
    t_tx = np.maximum(joined[buyer], 0) + (rng.random(n_tx) * (SPAN - np.maximum(joined[buyer], 0))).astype(np.int64)
    amount = np.round(np.exp(rng.normal(np.log(40), 0.9, n_tx)), 2)
    refund = rng.random(n_tx) < 0.04
    amount = np.where(refund, -amount, amount)
    tx = pa.table({
        "Order Date": _times(np.clip(t_tx, 0, SPAN - 1)),
        "Customer ID": pc.take(member_ids, pa.array(buyer)),
        "Transaction ID": _ids("T", np.arange(n_tx)),
        "Order ID": _ids("O", np.arange(n_tx) // 2),
        "Amount": pa.array(amount),
        "Product": pa.array(np.array(["ticket", "upgrade", "bag", "lounge", "meal"])[rng.integers(0, 5, n_tx)]),
    })

    sec = np.clip(joined, -SPAN, SPAN - 1)
    members = pa.table({
        "Customer ID": member_ids,
        "Name": _ids("Customer ", np.arange(1, n_members + 1)),
        "Signup Date": pa.array((START + sec.astype("timedelta64[s]")).astype("datetime64[D]")),
        "Cancellation Date": pa.array(np.where(churned > 0, START + churned.astype("timedelta64[s]"),
                                               np.datetime64("NaT")).astype("datetime64[D]")),
        "Segment": pa.array(SEGMENTS[rng.choice(len(SEGMENTS), n_members, p=[0.4, 0.3, 0.15, 0.05, 0.1])]),
        "Followers": pa.array(followers),
        "Referred By": pc.if_else(pa.array(referred >= 0), pc.take(member_ids, pa.array(np.maximum(referred, 0))),
                                  pa.nulls(n_members, pa.string())),
        "Employee": pa.array(np.where(employee, "yes", "no")),
    })
    return {"members": members, "interactions": inter, "transactions": tx}


def write(interactions: int, out: str | Path, seed: int = 11) -> list[tuple[Path, str]]:
    """Write the three exports (skipped when present); returns (path, dataset) in import order."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = ("members", "interactions", "transactions")
    files = [(out / f"{n}.csv", n) for n in names]
    if not all(p.exists() for p, _ in files):
        tables = generate(interactions, seed)
        for path, name in files:
            tmp = path.with_suffix(".tmp")
            pacsv.write_csv(tables[name], tmp)
            tmp.rename(path)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interactions", type=int, default=1_000_000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    out = args.out or f"bench_out/powerlaw-{args.interactions}"
    for path, _ in write(args.interactions, out, args.seed):
        print(path, f"{path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
