"""How fast texts are read (language, sentiment, lemmas: derived.text), in messages per second.

    python -m benchmarks.text_scoring [--texts 6000]

Distinct texts are made from the hand-labelled set (tests/data/sentiment_labelled.csv) by adding a
flight number and a day, so no two are equal (the importer reads each distinct text once; a real
export's texts are mostly distinct). Prints one line per language and overall, and the time the
derived-table sync spends on the texts of an import of the same texts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from derived import text as ta

ROOT = Path(__file__).resolve().parent.parent
DAYS = {"en": ["on Monday", "today", "last night"], "nl": ["op maandag", "vandaag", "gisteravond"],
        "de": ["am Montag", "heute", "gestern Abend"]}


def texts(n: int) -> pd.DataFrame:
    base = pd.read_csv(ROOT / "tests" / "data" / "sentiment_labelled.csv", sep=";")
    rows = []
    for i in range(n):
        r = base.iloc[i % len(base)]
        rows.append((r["lang"], f"{r['text']} (SL{100 + i} {DAYS[r['lang']][i % 3]})"))
    return pd.DataFrame(rows, columns=["lang", "text"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=6000)
    args = ap.parse_args()
    frame = texts(args.texts)
    t = time.perf_counter()
    for sample in ("Thanks, great service", "Bedankt, goede service", "Danke, toller Service"):
        ta.analyse(sample)  # loads each language's lexicon and lemma dictionary once per process
    print(f"loading the scorers and dictionaries: {time.perf_counter() - t:.2f} s (once per process)")
    total = 0.0
    for lang, part in frame.groupby("lang"):
        t = time.perf_counter()
        ta.analyse_many(list(part["text"]))
        s = time.perf_counter() - t
        total += s
        print(f"{lang}: {len(part):,} texts in {s:.2f} s = {len(part) / s:,.0f} messages/s")
    print(f"all: {len(frame):,} texts in {total:.2f} s = {len(frame) / total:,.0f} messages/s")

    from datastore.importer import import_file
    from datastore.workspace import open_workspace
    from derived.sync import rescore, sync

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "messages.csv"
        pd.DataFrame({"when": pd.date_range("2026-01-01", periods=len(frame), freq="min").strftime("%Y-%m-%d %H:%M"),
                      "channel": "x", "member": [f"M{i % 500}" for i in range(len(frame))], "direction": "inbound",
                      "text": frame["text"]}).to_csv(csv, sep=";", index=False)
        con = open_workspace(Path(tmp) / "ws.duckdb")
        t = time.perf_counter()
        import_file(con, csv, dataset="interactions", mapping={"occurred_at": "when", "channel": "channel",
                                                               "member_id": "member", "direction": "direction",
                                                               "text": "text"})
        report = sync(con)
        print(f"import + first sync of {len(frame):,} messages: {time.perf_counter() - t:.2f} s "
              f"(texts step {report.steps.get('texts', 0):.2f} s, {report.steps.get('texts_scored', 0):,} scored)")
        t = time.perf_counter()
        report = rescore(con)
        print(f"score every text again: {time.perf_counter() - t:.2f} s (texts step {report.steps.get('texts', 0):.2f} s)")
        con.close()


if __name__ == "__main__":
    main()
