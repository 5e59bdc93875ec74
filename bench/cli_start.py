"""What the command costs before it does anything: `studentgroups --help` beside a bare Python start.

Each is run RUNS times, alternately, in a fresh process; the CPU (user + system) of each child is
read from the kernel's accounting of this process's children. The figure is the median CPU of
`--help` minus the median of `python -c pass` (the interpreter's own start), and their ratio;
and the CPU of a whole `studentgroups form` on a roster of two students: all it costs before
the engine (whose work on two students is nothing).
Aims: --help at most 0.3 s of CPU above the bare start on this machine (issue 14); `form` within
0.3 s of CPU (issue 16).
Run: .venv/bin/python bench/cli_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

COMMAND = str(Path(sys.executable).with_name("studentgroups"))


def _cpu_of(argv: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    bare, help_, instance_help, form = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        roster = Path(folder) / "roster.csv"
        roster.write_text("uid,score\nu1,1\nu2,2\n")
        for _ in range(runs):
            bare.append(_cpu_of([sys.executable, "-c", "pass"]))
            help_.append(_cpu_of([COMMAND, "--help"]))
            instance_help.append(_cpu_of([COMMAND, "key", "create", "--help"]))
            form.append(_cpu_of([COMMAND, "form", str(roster), "--groups", "1"]))
    result = {
        "runs": runs,
        "bare_python_cpu_s": round(statistics.median(bare), 3),
        "help_cpu_s": round(statistics.median(help_), 3),
        "subcommand_help_cpu_s": round(statistics.median(instance_help), 3),
        "help_above_bare_cpu_s": round(statistics.median(help_) - statistics.median(bare), 3),
        "help_over_bare_ratio": round(statistics.median(help_) / max(statistics.median(bare), 1e-3), 1),
        "form_of_two_cpu_s": round(statistics.median(form), 3),
    }
    result["aim_met"] = result["help_above_bare_cpu_s"] <= 0.3 and result["form_of_two_cpu_s"] <= 0.3
    print(json.dumps(result))


if __name__ == "__main__":
    main()
