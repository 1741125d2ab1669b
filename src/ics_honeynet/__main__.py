"""``python -m ics_honeynet``: tools for a deployed honeynet.

    python -m ics_honeynet doctor --stack NAME [--region R] [--json]
    python -m ics_honeynet audit --host H [--ports ...] [--timeout S] [--json]
    python -m ics_honeynet audit --persona SEED | --template-dir DIR [--json]
    python -m ics_honeynet report --stack NAME [--region R] [--since 14d] [--until ...] [--out DIR]

Exit status: 0 when every check passed (OK or WARN), 1 when a check FAILed, 2 on bad arguments
or when the checks could not start (credentials, region, stack not found).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ics_honeynet import doctor
from ics_honeynet.audit import cli as audit
from ics_honeynet.research import cli as research

Command = Callable[[argparse.Namespace], int]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m ics_honeynet", description=(__doc__ or "").splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # One sub-parser per command; each module adds its own arguments and says how it runs.
    check = commands.add_parser("doctor", help="check a deployed stack and say how to fix what is wrong")
    doctor.add_arguments(check)
    check.set_defaults(run=doctor.run)
    fingerprint = commands.add_parser("audit", help="probe a honeypot (or audit a template) for Conpot's fingerprints")
    audit.add_arguments(fingerprint)
    fingerprint.set_defaults(run=audit.run)
    report = commands.add_parser("report", help="does being on Shodan change the attacks? (PNG, JSON, CSV)")
    research.add_arguments(report)
    report.set_defaults(run=research.run)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    command: Command = args.run
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
