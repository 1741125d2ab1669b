"""Experiment mode (the stack's ``ExperimentMode``, off by default): does being on Shodan change
the attacks a honeypot receives, as a randomised experiment.

The unit is the *tenure* (one task newly holding one IP, exposure_history). When a tenure of
ours starts, it is assigned an arm by an unpredictable fair draw (``secrets``): ``treatment``
tenures get an on-demand Shodan scan requested (``POST /shodan/scan``, one scan credit per IP),
which puts them into Shodan's index on purpose; ``control`` tenures are left alone. The arm is
stored with the tenure in the same write that records it, so the draw happens once: a re-run
finds the tenure and draws nothing. Extra IPs (``ExtraHoneypotIps``, no task) get no arm and are
never scanned.

Where each step happens, and why there:

- the draw: in SummarizeSweep, where a new tenure is recognised (exposure_history.record_check
  and record_rotation), so the arm and the tenure are one item written once;
- the claim: the ASL's ClaimScan, a conditional DynamoDB write *before* the request (``SET
  scanRequestedAt`` only if the IP is still this task's, in the treatment arm, and no request was
  claimed yet). A retry, a re-run, a second sweep: the condition fails and no request is sent. A
  paid request that exposes a honeypot is sent at most once per tenure; if the outcome cannot be
  recorded, the claim still says it was attempted;
- the request: RequestShodanScan (a Lambda, because it needs the API key, the shodan client and
  the shared pace), retried only on answers that prove nothing was scanned (429);
- the outcome: the ASL's RecordScan / RecordScanError write ``scanId`` or ``scanError`` on the
  tenure. A failed request never fails the sweep.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from ics_honeynet.contracts import Arm, ScanTarget
from ics_honeynet.exposure_history import IpHistory


class ExperimentOffError(Exception):
    """A scan was asked of a stack whose ExperimentMode is off: refused (it would expose a honeypot)."""


def draw_arm() -> Arm:
    """A fair coin from the operating system's CSPRNG: nobody (nor a seed) can predict an arm."""
    return Arm.TREATMENT if secrets.randbelow(2) else Arm.CONTROL


def scan_targets(histories: Iterable[IpHistory]) -> list[ScanTarget]:
    """The treatment tenures of ours whose scan was never claimed: this sweep's fresh ones, and
    any an earlier sweep assigned but could not get to (ClaimScan keeps it to one request)."""
    return [
        {"ip": h.ip, "taskArn": h.task_arn}
        for h in sorted(histories, key=lambda h: h.ip)
        if h.task_arn is not None and h.arm == Arm.TREATMENT and h.scan_requested_at is None
    ]
