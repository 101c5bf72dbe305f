"""Whole-process benchmarks of issue 14, each figure side by side with its baseline
measured in the same run, medians over several runs.

    python bench/run.py [all|logs|config|diagnose|tui ...] [--short] [--runs N]
                        [--json OUT] [--results bench/RESULTS.md]

--short uses small inputs (seconds, for CI) and fails on a regression: a figure more
than 1.5 times its target, or, for a target not met yet, 1.5 times where it stands today
(bench/standing.json, measured in short mode and kept beside RESULTS.md); the full run
uses the sizes of the issue (2 GB and 1 GB logs, 5,000 servers) and fails when a target
is not met. See bench/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import measure  # noqa: E402
from measure import Figure  # noqa: E402

GROUPS = ("logs", "config", "diagnose", "tui")
SHORT_SLACK = 1.5  # short mode: a regression of more than 50% fails
# Short-mode figures whose target is not met yet: where they stand (a regression from
# there still fails CI; meeting the target removes the entry).
STANDING: dict[str, float] = json.loads((HERE / "standing.json").read_text())


def collect(groups: list[str], work: Path, short: bool, runs: int) -> list[Figure]:
    found: list[Figure] = []
    for group in groups:
        module = __import__(group)
        found += module.figures(work, short, runs)
    return found


def verdict(fig: Figure, short: bool) -> str:
    """ok / FAIL against the target; short mode allows SHORT_SLACK and leaves out the
    figures that are not a comparison within the run (they say "info")."""
    if short and not fig.ci:
        return "info"
    limit = fig.limit
    if short and fig.unit != "failed":
        limit = max(fig.limit, STANDING.get(fig.name, 0.0)) * SHORT_SLACK
    return "ok" if fig.value <= limit else "FAIL"


def table(figures: list[Figure], short: bool) -> str:
    slack = (f" (short mode: fails above {SHORT_SLACK}x the target or bench/standing.json)"
             if short else "")
    rows = [f"| figure | value | target{slack} | result | measured |", "|---|---|---|---|---|"]
    for fig in figures:
        rows.append(f"| {fig.name} | {fig.value:.3g} {fig.unit} | <= {fig.limit:g} {fig.unit}"
                    f" | {verdict(fig, short)} | {fig.detail} |")
    return "\n".join(rows)


def results_markdown(figures: list[Figure], box: dict[str, str], runs: int, short: bool,
                     took: float) -> str:
    lines = ["# Benchmark results (issue 14)", "",
             f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
             f"`python bench/run.py{' --short' if short else ''} --runs {runs}` "
             f"({took / 60:.1f} min).", "", "Machine:", ""]
    lines += [f"- {key}: {value}" for key, value in box.items()]
    lines += ["", table(figures, short), "", "How to reproduce each figure:", ""]
    lines += [f"- {fig.name}: `{fig.command}`" for fig in figures]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", metavar="GROUP",
                        help=f"which figures: all (default), {', '.join(GROUPS)}")
    parser.add_argument("--short", action="store_true", help="small inputs, for CI")
    parser.add_argument("--runs", type=int, default=None, help="runs per median (5; 3 short)")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--results", metavar="MD", help="write the results as Markdown")
    parser.add_argument("--workdir", default=None, help="where big inputs go (default /tmp)")
    args = parser.parse_args()
    unknown = set(args.groups) - {"all", *GROUPS}
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    groups = list(GROUPS) if not args.groups or "all" in args.groups else args.groups
    runs = args.runs or (3 if args.short else 5)
    # As installed, the wizard's modules are byte-compiled; a checkout run with
    # PYTHONDONTWRITEBYTECODE (or one just edited) would compile them again on every run.
    compileall.compile_dir(str(HERE.parent / "wizard"), quiet=1)
    box = measure.machine()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="n502-bench-", dir=args.workdir) as tmp:
        figures = collect(groups, Path(tmp), args.short, runs)
    took = time.monotonic() - started
    box["load_after"] = measure.machine()["load_before"]
    print(table(figures, args.short))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": box, "short": args.short, "runs": runs,
             "figures": [f.as_dict() for f in figures]}, indent=1) + "\n")
    if args.results:
        Path(args.results).write_text(results_markdown(figures, box, runs, args.short, took))
    return 1 if any(verdict(f, args.short) == "FAIL" for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
