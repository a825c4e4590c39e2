"""Benchmark the đề án lifecycle beside Temporal's floor (issue 14; not a test: it prints
figures).

    .venv/bin/python scripts/bench_lifecycle.py --count 40 --officials 20 --open 100

Starts its own stack (embedded PostgreSQL, ``temporal server start-dev`` on SQLite with WAL
or, with ``--journal default``, SQLite's default journal, a production worker and the floor's
worker ``python -m bench.floor``), then runs, one after the other: the floor, the project's
lifecycle through the admin client, the same through raw updates, each with ``--officials``
concurrent officials over ``--count`` items and with one official over ``--single`` items (and,
with one official, the floor with its write as a local activity);
with ``--open M``, M đề án left open after approval and the worker's RSS before and after.
Prints the table (see :func:`bench.lifecycle.table`), then checks the rows PostgreSQL holds
and exits 1 when they are not exactly what the runs made.

``--smoke``: a few items, for CI (no timing means anything at that size).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lifecycle import Options, run_bench, table
from khuyencong.logging import configure_logging


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="items with --officials")
    parser.add_argument("--officials", type=int, default=20, help="concurrent officials")
    parser.add_argument("--single", type=int, default=None, help="items with one official")
    parser.add_argument("--open", type=int, default=0, help="đề án left open (memory mode)")
    parser.add_argument("--journal", choices=["wal", "default"], default="wal")
    parser.add_argument("--smoke", action="store_true", help="a few items, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        return Options(
            count=2, officials=2, single=1, open_count=2, journal=args.journal, warm_up=1
        )
    single = args.single if args.single is not None else min(args.count, 10)
    return Options(args.count, args.officials, single, args.open, args.journal)


def main(argv: list[str] | None = None) -> int:
    """Run, print the table; 0 when PostgreSQL holds exactly the rows the runs made."""
    options = parse(argv)
    print(
        f"bench_lifecycle: {options.count} items × {options.officials} officials, "
        f"{options.single} with one official, {options.open_count} left open, "
        f"journal {options.journal}",
        flush=True,
    )
    result = asyncio.run(run_bench(options))
    print("\n".join(table(result)))
    return 0 if result.rows.ok else 1


if __name__ == "__main__":
    configure_logging("console", "WARNING")  # here, not in main(): a test calls main()
    sys.exit(main())
