"""The mutation score of the last `mutmut run` (make mutation), and its surviving mutants.

    python tools/mutation_score.py            # the score per module and in all, then each survivor
    python tools/mutation_score.py --diffs    # each survivor with its diff (mutmut show)

Score = mutants killed (a test failed, or the mutant made the tests time out) / mutants judged
(killed, survived, and those no test reached). Mutants mutmut skipped are not judged.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

MUTMUT = str(Path(sys.executable).with_name("mutmut"))
KILLED = {"killed", "timeout", "caught by type check"}
LOST = {"survived", "no tests", "suspicious"}


def statuses() -> dict[str, str]:
    """mutant name -> its status, as `mutmut results --all` lists them."""
    command = [MUTMUT, "results", "--all", "true"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603 - fixed arguments
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name:
            found[name] = status
    return found


def module_of(mutant: str) -> str:
    """``ics_honeynet.exposure.x_parse_banner__mutmut_3`` -> ``ics_honeynet.exposure``."""
    return mutant.split(".x_", 1)[0].split(".xǁ", 1)[0]


def score(counts: Counter[str]) -> tuple[int, int]:
    killed = sum(counts[s] for s in KILLED)
    return killed, killed + sum(counts[s] for s in LOST)


def main(argv: list[str]) -> int:
    found = statuses()
    if not found:
        print("no mutation results: run `make mutation` first", file=sys.stderr)
        return 1
    by_module: dict[str, Counter[str]] = {}
    for name, status in found.items():
        by_module.setdefault(module_of(name), Counter())[status] += 1
    print(f"{'module':<36} {'killed':>7} {'judged':>7} {'score':>7}")
    for module, counts in sorted(by_module.items()):
        killed, judged = score(counts)
        print(f"{module:<36} {killed:>7} {judged:>7} {killed / judged:>7.1%}")
    killed, judged = score(Counter(found.values()))
    print(f"{'all':<36} {killed:>7} {judged:>7} {killed / judged:>7.1%}")
    survivors = sorted(name for name, status in found.items() if status in LOST)
    print(f"\n{len(survivors)} mutant(s) not killed:")
    for name in survivors:
        print(f"  {name}: {found[name]}")
        if "--diffs" in argv:
            shown = subprocess.run([MUTMUT, "show", name], capture_output=True, text=True, check=False)  # noqa: S603
            diff = shown.stdout
            print("\n".join(f"      {line}" for line in diff.splitlines()[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
