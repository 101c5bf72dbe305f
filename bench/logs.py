"""Log figures: the default window of a 2 GB error.log against a 1 MB one, and a
full-file `explain` of a 1 GB log against `grep -cE` with the catalogue's patterns.

    python bench/run.py logs [--short]
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from biglog import write_error_log
from measure import PY, Figure, Run, medians, run_once, side_by_side

# One process that reads the default window (--since 1h) of a log, as diagnose does.
WINDOW = ("import sys; from wizard.host.errorlog import read_window; "
          "w = read_window(sys.argv[1], 'nginx', 3600.0); print(w.total, len(w.records))")
MB = 1024 * 1024
MARGIN = 32 * MB  # the lists of explain are full well before this


def grep_patterns() -> list[str]:
    """The catalogue's patterns (wizard/signatures.py) in POSIX ERE for grep -E: named
    and plain groups become groups, \\d \\s \\S \\w their classes, lookarounds and lazy
    marks go (grep finds the same lines either way)."""
    from wizard.signatures import SIGNATURES
    return [_ere(sig.pattern.pattern) for sig in SIGNATURES]


_OUTSIDE = {"d": "[0-9]", "s": "[[:space:]]", "S": "[^[:space:]]", "w": "[[:alnum:]_]"}
_INSIDE = {"d": "0-9", "s": "[:space:]", "w": "[:alnum:]_"}


def _ere(regex: str) -> str:
    regex = re.sub(r"\(\?P<\w+>", "(", regex).replace("(?:", "(")
    regex = re.sub(r"\(\?<!\\S\)", "", regex)
    regex = re.sub(r"\(\?=[^()]*(?:\([^()]*\)[^()]*)*\)", "", regex)
    regex = regex.replace("*?", "*").replace("+?", "+").replace("??", "?")
    out, inside, i = [], False, 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\" and i + 1 < len(regex):
            nxt = regex[i + 1]
            table = _INSIDE if inside else _OUTSIDE
            out.append(table.get(nxt, "$" if nxt == "n" else ch + nxt))
            i += 2
            continue
        if ch == "[" and not inside:
            inside = True
        elif ch == "]" and inside and out and out[-1] not in ("[", "[^"):
            inside = False
        out.append(ch if not (inside and ch == "^" and out[-1] == "[") else "^")
        i += 1
    return "".join(out)


def window_figure(work: Path, big: int, runs: int, cpu: bool = False) -> Figure:
    """Reading the window of a huge log must cost about what a small one costs. `cpu`
    compares CPU seconds (short mode: two wall times of 0.3 s on a busy machine differ
    by more than the 50 ms looked for)."""
    end = time.time()
    small, large = work / "small-error.log", work / "large-error.log"
    write_error_log(small, MB, end)
    write_error_log(large, big, end)
    a, b = side_by_side([PY, "-c", WINDOW, str(large)], [PY, "-c", WINDOW, str(small)], runs)
    large.unlink()
    extra = ((a.cpu - b.cpu) if cpu else (a.wall - b.wall)) * 1000
    return Figure(
        f"logs: default window of a big error.log{' (CPU)' if cpu else ''}", extra, 50.0,
        "ms", f"{big // MB} MB log {a.wall:.3f} s ({a.cpu:.3f} s CPU) vs 1 MB log "
        f"{b.wall:.3f} s ({b.cpu:.3f} s CPU), the same last hour",
        f"python -c \"{WINDOW}\" LOG", {"big_s": a.wall, "small_s": b.wall})


def _explain_and_grep(work: Path, size: int, runs: int) -> tuple[Run, Run]:
    """Medians of explain and of grep -cE on one generated log of `size` bytes."""
    log, patterns = work / "explain-error.log", work / "patterns.ere"
    write_error_log(log, size)
    patterns.write_text("\n".join(grep_patterns()) + "\n")
    grep = shutil.which("grep") or "grep"
    ours = [PY, "-m", "wizard", "explain", str(log), "--format", "json"]
    base = [grep, "-cE", "-f", str(patterns), str(log)]
    a_runs, b_runs = [], []
    try:
        for _ in range(runs):
            a_runs.append(run_once(ours, stdout=work / "explain.json"))
            b_runs.append(run_once(base, stdout=work / "grep.out", env={"LC_ALL": "C"}))
    finally:
        log.unlink()
    # grep -c exits 1 when nothing matches, 2 when it cannot read a pattern: a broken
    # pattern would end it at once and make any explain look slow beside it.
    if any(run.code > 1 for run in b_runs):
        raise SystemExit(f"grep rejected a pattern of {patterns} (exit "
                         f"{max(run.code for run in b_runs)}): bench/logs.py _ere cannot "
                         "translate a signature's regex")
    return medians(a_runs), medians(b_runs)


def explain_figures(work: Path, size: int, runs: int, marginal: bool) -> list[Figure]:
    """explain of a whole log against grep -cE with the same patterns (output to files:
    GNU grep stops at the first match when its output is /dev/null). `marginal` compares
    what one more byte costs (the log against a MARGIN one, past the point where the
    lists are full), for logs too small for the fixed part (starting Python, the 22,000
    listed entries) to fade."""
    a, b = _explain_and_grep(work, size, runs)
    mb = size // MB
    value = a.wall / b.wall
    how = (f"explain {a.wall:.2f} s vs LC_ALL=C grep -cE {b.wall:.2f} s "
           f"(CPU {a.cpu:.2f} s vs {b.cpu:.2f} s)")
    name = f"logs: explain {mb} MB vs grep -cE"
    if marginal:
        a1, b1 = _explain_and_grep(work, MARGIN, runs)
        value = (a.cpu - a1.cpu) / max(b.cpu - b1.cpu, 1e-3)  # CPU: a difference of
        # two wall times on a busy machine is mostly noise
        name = f"logs: explain vs grep -cE, cost of {(size - MARGIN) // MB} MB more"
        how += f"; on {MARGIN // MB} MB CPU {a1.cpu:.2f} s vs {b1.cpu:.2f} s"
    return [
        Figure(name, value, 2.0, "x", how,
               "python -m wizard explain LOG --format json > out; "
               "LC_ALL=C grep -cE -f patterns.ere LOG > out",
               {"explain_s": a.wall, "grep_s": b.wall}),
        Figure(f"memory: explain {mb} MB peak RSS", a.rss_mib, 80.0, "MiB",
               f"explain {a.rss_mib:.1f} MiB (grep {b.rss_mib:.1f} MiB)",
               "/usr/bin/time -f %M python -m wizard explain LOG --format json > out",
               {"explain_mib": a.rss_mib}),
    ]


def figures(work: Path, short: bool, runs: int) -> list[Figure]:
    if short:
        return [window_figure(work, 64 * MB, runs * 3, cpu=True),
                *explain_figures(work, 160 * MB, runs, marginal=True)]
    return [window_figure(work, 2048 * MB, runs),
            *explain_figures(work, 1024 * MB, runs, marginal=False)]
