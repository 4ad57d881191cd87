"""Command line (``python -m metrics``): the scriptable face of the same code. Prints JSON (or
CSV for compute).

    python -m metrics import --workspace PATH --dataset interactions FILE [--map field=Column ...]
    python -m metrics sample --workspace PATH [--members N] [--interactions N]
    python -m metrics list
    python -m metrics compute METRIC --workspace PATH [--grain month] [--from DATE] [--to DATE]
    python -m metrics targets list|add|analyse --workspace PATH ...
    python -m metrics trials list|add|analyse --workspace PATH ...

Exit codes: 0 success (rows loaded), 1 the file was refused or the metric failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

from datastore.schema import DATASETS


def _workspace_path(value: str, data_dir: str | None) -> Path:
    """A file path ending in .duckdb is used as given; anything else is a workspace *name* in the
    data folder, under the app's name rules (so ``../../x`` cannot write outside it)."""
    from datastore.workspace import workspace_path

    p = Path(value)
    if p.suffix == ".duckdb":
        return p
    if len(p.parts) > 1 and p.is_dir():
        raise Refused(f"{p} is a folder, not a workspace file (.duckdb).")
    try:
        return workspace_path(value, data_dir)
    except ValueError as exc:
        raise Refused(f"{exc} Give a workspace name, or a file path ending in .duckdb.") from None


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        if "=" not in item:
            raise SystemExit(_usage(f"{flag} expects field=value, got {item!r}"))
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


class Refused(Exception):
    """A clear refusal (a file or workspace that cannot be used): printed as
    ``{"status": "refused", "message": ...}``, exit code 1. Never a traceback."""


def _input_file(value: str) -> Path:
    p = Path(value)
    if p.is_dir():
        raise Refused(f"{value} is a folder, not a file: give the CSV file itself.")
    if not p.exists():
        raise Refused(f"No such file: {value}")
    if not os.access(p, os.R_OK):
        raise Refused(f"Cannot read {value}: permission denied.")
    return p


WAIT = [120.0]  # seconds to wait for a workspace another process holds (--wait)


def _open(path: Path):
    """Open a workspace, refusing clearly what is not one or is held by another process."""
    import duckdb

    from datastore.workspace import lock_holder, open_workspace

    if path.is_dir():
        raise Refused(f"{path} is a folder, not a workspace file (.duckdb).")
    deadline, told = time.monotonic() + WAIT[0], False
    while True:
        try:
            return open_workspace(path)
        except duckdb.IOException as exc:
            pid = lock_holder(exc)
            if pid is None:
                return _refuse_open(path, str(exc))
            who = f"another process ({pid + ': ' if pid else ''}the dashboard or another import)"
            if time.monotonic() >= deadline:
                raise Refused(f"The workspace {path} is in use by {who}"
                              + (f" and was not released within {WAIT[0]:.0f} s" if WAIT[0] else "")
                              + ": close it there, or try again with a longer --wait.") from None
            if not told:
                print(f"The workspace {path} is in use by {who}; waiting up to {WAIT[0]:.0f} s for it "
                      "(the dashboard lets go of a workspace it has not used for a while)…", file=sys.stderr,
                      flush=True)
                told = True
            time.sleep(1.0)


def _refuse_open(path: Path, text: str):
    if "not a valid DuckDB" in text:
        raise Refused(f"{path} is not a workspace: it is not a DuckDB database file.")
    raise Refused(f"Cannot open the workspace {path}: {text}")


def _usage(message: str) -> int:
    print(json.dumps({"error": message}), file=sys.stderr)
    return 2


def _print(obj) -> None:
    print(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def cmd_import(args: argparse.Namespace) -> int:
    from datastore.importer import ImportOptions, import_file
    from datastore.sniff import FileRefused
    from derived.sync import sync

    mapping = _pairs(args.map, "--map") or None
    constants = _pairs(args.set, "--set") or None
    options = ImportOptions(
        encoding=args.encoding, delimiter=args.delimiter, decimal=args.decimal,
        date_format=args.date_format, dedupe=not args.keep_duplicates,
        earliest=args.earliest_date, latest=args.latest_date,
    )
    _input_file(args.file)
    con = _open(_workspace_path(args.workspace, args.data_dir))
    try:
        report = import_file(con, args.file, dataset=args.dataset, mapping=mapping,
                             constants=constants, options=options)
        sync(con)  # the derived tables the metrics read
    except FileRefused as exc:
        raise Refused(str(exc)) from None
    except ValueError as exc:  # an option that cannot be used (e.g. --delimiter ab)
        return _usage(str(exc))
    finally:
        con.close()
    _print(report.to_dict())
    return 0 if report.status == "loaded" else 1


def cmd_inspect(args: argparse.Namespace) -> int:
    from datastore.importer import ImportOptions, inspect_file
    from datastore.sniff import FileRefused

    _input_file(args.file)
    try:
        profile = inspect_file(args.file, dataset=args.dataset, options=ImportOptions(
            encoding=args.encoding, delimiter=args.delimiter))
    except FileRefused as exc:
        _print({"status": "refused", "message": str(exc)})
        return 1
    except ValueError as exc:
        return _usage(str(exc))
    _print(profile.describe())
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """The same Sample the app builds: exports through the importer, derived tables, example plans."""
    from sample_data.build import build

    path = _workspace_path(args.workspace, args.data_dir)
    reports = [r.to_dict() for r in build(path, members=args.members, interactions=args.interactions, seed=args.seed,
                                          time_zone=args.time_zone)]
    _print({"workspace": str(path), "imports": reports})
    return 0 if all(r["status"] == "loaded" for r in reports) else 1


def cmd_list(args: argparse.Namespace) -> int:
    from metrics import REGISTRY

    _print([
        {"name": m.name, "description": m.description, "unit": m.unit, "options": m.options.describe(),
         "per_period": m.per_period, "section": m.section, "derived_from": m.parent,
         "trial_metric": m.units is not None}
        for m in sorted(REGISTRY.values(), key=lambda m: (m.section, m.name))
    ])
    return 0


def cmd_compute(args: argparse.Namespace) -> int:
    from metrics import Filters, get

    try:
        metric = get(args.metric)
    except ValueError as exc:
        return _usage(str(exc))
    options: dict = _pairs(args.option, "--option")
    if args.grain and metric.grains:  # --grain is ignored by a metric without one
        options["grain"] = args.grain
    filters = Filters(
        start=args.date_from, end=args.date_to, channels=tuple(args.channel or ()),
        segments=tuple(args.segment or ()), campaigns=tuple(args.campaign or ()),
    )
    path = _workspace_path(args.workspace, args.data_dir)
    if not path.exists():
        return _usage(f"No workspace at {path}")
    try:
        opts = metric.make_options(options)
    except ValueError as exc:
        return _usage(str(exc))
    con = _open(path)
    try:
        frame = metric.compute(con, filters, **opts.as_dict())
    except ValueError as exc:
        return _usage(str(exc))
    finally:
        con.close()
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        print(frame.to_json(orient="records", date_format="iso", indent=2))
    return 0


# --------------------------------------------------------------------------------------------
# Targets and trials (plans.store / plans.targets / plans.trials: the same code as the app)
# --------------------------------------------------------------------------------------------
def _plain(obj):
    """A report as JSON-ready data: dataclasses as dicts, frames as records, days as 2026-07-01."""
    import dataclasses
    from datetime import datetime

    import numpy as np
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return [_plain(r) for r in obj.to_dict("records")]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, datetime | pd.Timestamp):
        if pd.isna(obj):
            return None
        return obj.date().isoformat() if obj == pd.Timestamp(obj).normalize() else obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if obj is pd.NaT or (isinstance(obj, float) and obj != obj) or obj is pd.NA:
        return None
    return obj


def _scope(prefix: str, args: argparse.Namespace) -> dict:
    return {k: list(getattr(args, f"{prefix}{k}") or []) for k in ("channels", "segments", "campaigns")}


def _plans_workspace(args: argparse.Namespace):
    path = _workspace_path(args.workspace, args.data_dir)
    if not path.exists():
        raise Refused(f"No workspace at {path}")
    return _open(path)


def _on_plans(args: argparse.Namespace, body) -> int:
    """Run ``body(con)`` on the workspace and print its result; a ValueError (validation, no such
    record) is a usage error with its message."""
    con = _plans_workspace(args)
    try:
        _print(body(con))
    except ValueError as exc:
        return _usage(str(exc))
    finally:
        con.close()
    return 0


def cmd_targets(args: argparse.Namespace) -> int:
    from plans import store
    from plans.targets import target_report

    def body(con):
        if args.action == "list":
            return _plain(store.list_targets(con, include_archived=args.archived))
        if args.action == "add":
            ident = store.create_target(
                con, author=args.author, metric=args.metric, target_value=args.value, start_date=args.start,
                due_date=args.due, direction=args.direction, baseline=args.baseline,
                options={"grain": args.grain} if args.grain else {}, owner=args.owner, note=args.note,
                name=args.name, **_scope("", args))
            return {"target_id": ident}
        target = store.get_target(con, args.id)
        return {"target": _plain(target), "report": _plain(target_report(con, target, today=args.today))}

    return _on_plans(args, body)


def cmd_trials(args: argparse.Namespace) -> int:
    from plans import store
    from plans.trials import analyse

    def body(con):
        if args.action == "list":
            return _plain(store.list_trials(con, today=args.today))
        if args.action == "add":
            control = _scope("control_", args)
            ident = store.create_trial(
                con, author=args.author, name=args.name, hypothesis=args.hypothesis, change=args.change,
                goal_metric=args.goal, start_date=args.start, end_date=args.end,
                guardrail_metrics=args.guardrail or [], treatment=_scope("", args),
                control=control if any(control.values()) else None, planned_split=args.split,
                owner=args.owner, note=args.note)
            return {"trial_id": ident}
        trial = store.get_trial(con, args.id, today=args.today)
        return {"trial": _plain(trial), "analysis": _plain(analyse(con, trial, today=args.today))}

    return _on_plans(args, body)


def _plan_parsers(sub) -> None:
    iso = date.fromisoformat

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--workspace", required=True)
        p.add_argument("--today", type=iso, help="judge as of this day (default today)")

    def scope(p: argparse.ArgumentParser, prefix: str = "", what: str = "") -> None:
        for k in ("channel", "segment", "campaign"):
            p.add_argument(f"--{prefix.replace('_', '-')}{k}", dest=f"{prefix}{k}s", action="append",
                           help=f"{what}{k} (repeat for several)")

    tg = sub.add_parser("targets", help="list, add or analyse targets").add_subparsers(dest="action", required=True)
    common(tg.add_parser("list", help="every target"))
    tg.choices["list"].add_argument("--archived", action="store_true", help="archived ones too")
    add = tg.add_parser("add", help="store a target")
    common(add)
    add.add_argument("--author", required=True)
    add.add_argument("--metric", required=True, help="a metric with one value per period (python -m metrics list)")
    add.add_argument("--value", type=float, required=True, help="in the metric's unit; shares as fractions (0.15)")
    add.add_argument("--start", type=iso, required=True)
    add.add_argument("--due", type=iso, required=True)
    add.add_argument("--direction", choices=["at_least", "at_most"], default="at_least")
    add.add_argument("--baseline", type=float, help="default: the last complete period before the start")
    add.add_argument("--grain", choices=["day", "week", "month"])
    add.add_argument("--name", default="")
    add.add_argument("--owner", default="")
    add.add_argument("--note", default="")
    scope(add)
    an = tg.add_parser("analyse", help="a target's progress, status and projection")
    common(an)
    an.add_argument("id", type=int)
    for p in tg.choices.values():
        p.set_defaults(func=cmd_targets)

    tr = sub.add_parser("trials", help="list, add or analyse trials").add_subparsers(dest="action", required=True)
    common(tr.add_parser("list", help="every trial with its status"))
    add = tr.add_parser("add", help="store a trial")
    common(add)
    add.add_argument("--author", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--hypothesis", required=True)
    add.add_argument("--change", required=True, help="what the team changes")
    add.add_argument("--goal", required=True, help="the goal metric (a trial metric: python -m metrics list)")
    add.add_argument("--guardrail", action="append", help="a guardrail metric (repeat for several)")
    add.add_argument("--start", type=iso, required=True)
    add.add_argument("--end", type=iso, required=True)
    add.add_argument("--split", type=float, help="planned share of units in the treatment (for the SRM check)")
    add.add_argument("--owner", default="")
    add.add_argument("--note", default="")
    scope(add, what="treatment ")
    scope(add, "control_", "control ")
    an = tr.add_parser("analyse", help="before/after and treatment vs control, with verdicts")
    common(an)
    an.add_argument("id", type=int)
    for p in tr.choices.values():
        p.set_defaults(func=cmd_trials)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m metrics", description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", help="folder of workspace files (default ./workspaces or $SOCIALCRM_DATA_DIR)")
    p.add_argument("--wait", type=float, default=WAIT[0], metavar="SECONDS",
                   help="when the dashboard or another import has the workspace open, wait this long for it "
                        f"(the dashboard lets go of a workspace it has not used for a while; default {WAIT[0]:.0f}, "
                        "0: refuse at once)")
    sub = p.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("import", help="import a CSV export into a workspace")
    imp.add_argument("--workspace", required=True, help="workspace file (.duckdb) or name")
    imp.add_argument("--dataset", choices=DATASETS, help="target table (default: guessed)")
    imp.add_argument("--map", action="append", metavar="FIELD=COLUMN", help="map a file column to a field")
    imp.add_argument("--set", action="append", metavar="FIELD=VALUE", help="a fixed value for a field")
    imp.add_argument("--encoding")
    imp.add_argument("--delimiter")
    imp.add_argument("--decimal", choices=[",", "."])
    imp.add_argument("--date-format", help="strptime format, e.g. %%d-%%m-%%Y %%H:%%M")
    imp.add_argument("--keep-duplicates", action="store_true", help="load rows even if stored before")
    imp.add_argument("--earliest-date", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="reject rows dated before this (default 1990-01-01)")
    imp.add_argument("--latest-date", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="reject rows dated after this (default: one year after today)")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    ins = sub.add_parser("inspect", help="show what the importer detects and proposes for a file")
    ins.add_argument("--dataset", choices=DATASETS)
    ins.add_argument("--encoding")
    ins.add_argument("--delimiter")
    ins.add_argument("file")
    ins.set_defaults(func=cmd_inspect)

    smp = sub.add_parser("sample", help="generate the sample community into a workspace")
    smp.add_argument("--workspace", required=True)
    smp.add_argument("--members", type=int, default=5000)
    smp.add_argument("--interactions", type=int, default=200_000)
    smp.add_argument("--seed", type=int, default=42)
    smp.add_argument("--time-zone", default="Europe/Amsterdam")
    smp.set_defaults(func=cmd_sample)

    lst = sub.add_parser("list", help="list the metrics")
    lst.set_defaults(func=cmd_list)

    cmp_ = sub.add_parser("compute", help="compute a metric")
    cmp_.add_argument("metric")
    cmp_.add_argument("--workspace", required=True)
    cmp_.add_argument("--grain", choices=["day", "week", "month"])
    cmp_.add_argument("--from", dest="date_from", type=date.fromisoformat)
    cmp_.add_argument("--to", dest="date_to", type=date.fromisoformat)
    cmp_.add_argument("--channel", action="append")
    cmp_.add_argument("--segment", action="append")
    cmp_.add_argument("--campaign", action="append")
    cmp_.add_argument("--option", action="append", metavar="NAME=VALUE", help="a metric option")
    cmp_.add_argument("--format", choices=["json", "csv"], default="json")
    cmp_.set_defaults(func=cmd_compute)
    _plan_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    WAIT[0] = max(0.0, args.wait)
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except Refused as exc:
        _print({"status": "refused", "message": str(exc)})
        return 1
    except BrokenPipeError:  # `... | head` closed the pipe: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
