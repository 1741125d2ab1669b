"""The local cloud's fixed coordinates, said once: account, region, paths, artifact bucket."""

from __future__ import annotations

from pathlib import Path

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT_ROOT / "template.yaml"
DEFAULT_SCENARIO = PROJECT_ROOT / "scenarios" / "default.yaml"
# Where `sam deploy` would upload code and the state machine definition (never read locally).
ARTIFACT_BUCKET = "localcloud-sam-artifacts"
# How often the local HTTP servers (Shodan, InternetDB, task metadata) look for a shutdown request:
# stopping a server waits up to this long, once per server and cloud.
SHUTDOWN_POLL_S = 0.05
