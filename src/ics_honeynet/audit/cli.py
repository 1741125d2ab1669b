"""``audit``: how much a honeypot (live) or a template (static) looks like Conpot.

    python -m ics_honeynet audit --host H [--ports s7comm=102,modbus=502,...] [--timeout S] [--json]
    python -m ics_honeynet audit --persona SEED | --template-dir DIR [--json]

Exit status: 0 clean, 1 findings, 2 errors (bad arguments, or nothing could be probed/read).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from ics_honeynet.audit.assess import Report, assess
from ics_honeynet.audit.probes import DEFAULT_PORTS, probe_host
from ics_honeynet.audit.static import audit_template
from ics_honeynet.conpot_templates import render_template
from ics_honeynet.persona import persona_for


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--host", help="probe this honeypot over the network")
    target.add_argument("--persona", metavar="SEED", help="render the persona of SEED and audit it statically")
    target.add_argument("--template-dir", type=Path, help="audit a Conpot template directory statically")
    parser.add_argument(
        "--ports",
        default="",
        help="protocol=port,... to probe (default: "
        + ",".join(f"{k}={v}" for k, v in DEFAULT_PORTS.items())
        + "); naming some probes only those",
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per probe step (default 3)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def parse_ports(text: str) -> dict[str, int]:
    if not text.strip():
        return dict(DEFAULT_PORTS)
    ports = {}
    for item in text.split(","):
        name, sep, port = item.strip().partition("=")
        if not sep:  # a bare protocol name: its standard port
            port = str(DEFAULT_PORTS.get(name, ""))
        if name not in DEFAULT_PORTS or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"--ports: {item!r} is not protocol=port with protocol one of {', '.join(DEFAULT_PORTS)}")
        ports[name] = int(port)
    return ports


def report_for(args: argparse.Namespace) -> Report:
    if args.host:
        return assess(probe_host(args.host, parse_ports(args.ports), args.timeout))
    if args.persona:
        with tempfile.TemporaryDirectory() as directory:
            render_template(persona_for(args.persona), Path(directory))
            return assess(audit_template(Path(directory)))
    return assess(audit_template(args.template_dir))


def render(report: Report) -> str:
    lines = [f"score {report.score}/100 (0 clean ... 100 certainly Conpot)"]
    lines.append(f"services: {', '.join(report.open_services) or 'none'}")
    for f in report.findings:
        lines.append(f"  [{f.kind.value}] {f.protocol}: {f.message} (+{f.weight})\n      evidence: {f.evidence[:300]}")
    for e in report.errors:
        lines.append(f"  [error] {e.protocol}: {e.message}")
    if not report.findings:
        lines.append("  no Conpot default or inconsistency found")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        print("error: --timeout must be positive", file=sys.stderr)
        return 2
    try:
        report = report_for(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json(), indent=2) if args.json else render(report))
    return report.exit_status
