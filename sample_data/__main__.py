"""``python -m sample_data --out DIR [--members N] [--interactions N] [--seed S]``: write the export files."""

from __future__ import annotations

import argparse
import sys

from .generator import generate, write_exports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data", description="Write the SkyLoop Airways sample exports.")
    parser.add_argument("--out", required=True, help="output directory (created when missing)")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--interactions", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    try:
        data = generate(members=args.members, interactions=args.interactions, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    for path, dataset in write_exports(data, args.out):
        print(f"{path}\t{dataset}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
