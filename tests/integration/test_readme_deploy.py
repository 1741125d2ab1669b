"""README "Deploy" and "Teardown", followed where the local cloud can: every parameter documented,
the key stored in the stack's region, and the bucket-emptying command run on a real sweep's bucket."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import boto3

from localcloud.cloud import LocalCloud
from localcloud.sam import load_template

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def test_every_template_parameter_is_in_the_table():
    table = re.findall(r"^\| `(\w+)` \|", section("### Parameters"), flags=re.MULTILINE)
    assert table == list(load_template(ROOT / "template.yaml")["Parameters"])


def test_the_key_is_stored_in_the_region_samconfig_deploys_to():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    region = config["default"]["global"]["parameters"]["region"]
    assert f"aws ssm put-parameter --region {region} --type SecureString" in section("## Deploy")
    assert f"REGION={region}" in section("## Deploy")


def test_the_teardown_command_empties_a_versioned_evidence_bucket():
    command = re.search(r'\.venv/bin/python -c "([^"]+)" "\$BUCKET" "\$REGION"', section("## Deploy")).group(1)
    with LocalCloud() as cloud:
        cloud.wait_for_running(3)
        cloud.sweep()
        bucket = cloud.stack.output("EvidenceBucketName")
        s3 = boto3.client("s3", region_name="us-east-1")
        # moto's CloudFormation does not apply the template's VersioningConfiguration (AWS does;
        # tests/unit/test_template.py checks it is there): turn it on as AWS would have.
        assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        key = next(k for k in cloud.evidence_keys() if k.startswith("sweeps/"))
        s3.put_object(Bucket=bucket, Key=key, Body=b"{}")  # a second version
        s3.delete_object(Bucket=bucket, Key=key)  # and a delete marker
        listed = s3.list_object_versions(Bucket=bucket)
        assert listed.get("Versions") and listed.get("DeleteMarkers")
        saved = sys.argv
        sys.argv = ["-c", bucket, "us-east-1"]
        try:
            exec(command, {})  # the README's line, as `python -c` runs it
        finally:
            sys.argv = saved
        listed = s3.list_object_versions(Bucket=bucket)
        assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
        s3.delete_bucket(Bucket=bucket)  # what CloudFormation's delete then succeeds at
