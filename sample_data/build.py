"""The built-in Sample workspace: the generator's exports loaded through the importer."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from datastore.importer import import_file
from datastore.workspace import SAMPLE, delete_workspace, open_workspace, set_setting, workspace_path
from derived.sync import set_topics, sync
from plans.store import seed_sample_plans
from sample_data.generator import generate, write_exports
from sample_data.posts import write_post_exports
from sample_data.texts import SAMPLE_TOPICS

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


def build(path: str | Path, members: int = 5000, interactions: int = 200_000, seed: int = 42,
          time_zone: str = "Europe/Amsterdam", name: str | None = None, progress: Progress | None = None) -> list:
    """Generate the sample community into the workspace at ``path`` (created when new) the way a
    user's files go in: exports written to a temporary folder (Dutch Windows-1252 files included),
    imported, the derived tables built, example targets and trials seeded. Returns the reports.
    ``progress`` hears each step (generate 0–15 %, the imports 15–70 %, the tables the pages read
    70–95 %, the example plans)."""
    say = progress or (lambda _f, _t: None)

    def step(lo: float, width: float, head: str) -> Progress:  # a part of the build: "<head>: <what now>"
        return lambda f, t: say(lo + width * f, f"{head}: {t[:1].lower()}{t[1:]}")

    with tempfile.TemporaryDirectory() as tmp:
        say(0.0, f"Generating a sample community: {members:,} members, {interactions:,} interactions")
        data = generate(members=members, interactions=interactions, seed=seed)
        files = write_exports(data, tmp) + write_post_exports(data, tmp, seed=seed, time_zone=time_zone)
        del data
        con = open_workspace(path, time_zone=time_zone)
        try:
            if name:
                set_setting(con, "name", name)
            reports = []
            for i, (file_path, dataset) in enumerate(files):
                head = f"Importing {Path(file_path).name} into {dataset} ({i + 1} of {len(files)})"
                reports.append(import_file(con, file_path, dataset=dataset,
                                           progress=step(0.15 + 0.55 * i / len(files), 0.55 / len(files), head)))
            set_topics(con, SAMPLE_TOPICS)  # before the build: it matches every text with them
            sync(con, step(0.7, 0.25, "Preparing the tables the pages read"))
            say(0.97, "Adding example targets and trials")
            seed_sample_plans(con)  # example targets and trials for the Overview (idempotent)
        finally:
            con.close()
    return reports


def ensure_sample(directory: str | Path | None = None, reset: bool = False, members: int = 5000,
                  interactions: int = 200_000, progress: Progress | None = None) -> Path:
    """The built-in Sample workspace, built on first use. Built under a temporary name and moved
    into place, so a half-built sample never shows; ``progress`` as for ``build``."""
    path = workspace_path(SAMPLE, directory)
    if path.exists() and not reset:
        return path
    tmp_path = path.with_name(f".building-{os.getpid()}-{SAMPLE}.duckdb")
    tmp_path.unlink(missing_ok=True)
    for report in build(tmp_path, members, interactions, name=SAMPLE, progress=progress):
        if report.status != "loaded":
            raise RuntimeError(f"Sample import of {report.file_name} failed: {report.message}")
    delete_workspace(SAMPLE, directory)
    shutil.move(str(tmp_path), str(path))
    return path
