"""The research report on a schedule, in the local cloud: the EventBridge rule fires the function,
which reads what the sweeps and the event pipeline stored, writes the report to the research
bucket and emails its headline with a one-hour link to the chart; the link opens as S3 would
serve it (signed by the link role's session, decrypted with its grant). Each defect that would
break it on AWS, put back into a copy of the template, breaks it locally too."""

from __future__ import annotations

import json
import re
import types
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.cloud import LocalCloud
from localcloud.constants import ACCOUNT_ID, REGION
from localcloud.iam import acting_as, role_principal
from localcloud.presigned import LinkRefused
from localcloud.research import REPORT_SCENARIO
from localcloud.traffic import play, reverse_dns
from tests.localcloud.test_aws_mutations import TEMPLATE, mutant

REPORT = "WeeklyReportFunction"
SUBJECT = "ICS honeynet weekly report"


def _weekly_email(cloud: LocalCloud):
    [email] = [e for e in cloud.emails() if e.subject.startswith(SUBJECT)]
    return email


def _link(body: str) -> str:
    [url] = re.findall(r"https://\S+", body)
    return url


# The tests share a module-scoped fixture: one worker runs them all, in order, and makes it once
# (make test runs the suite on several workers with --dist loadgroup).
pytestmark = pytest.mark.xdist_group(__name__)


@pytest.fixture(scope="module")
def weekly() -> types.SimpleNamespace:
    """The report scenario played (60 simulated hours, a rotation), then the schedule fired."""
    with LocalCloud(scenario_path=REPORT_SCENARIO, rotate_on="fingerprinted", simulated_wall_clock=True) as cloud:
        played = play(cloud)
        with reverse_dns(played.ptr_names):
            run = cloud.fire_schedule(REPORT)
        email = _weekly_email(cloud)
        url = _link(email.body)
        s3 = boto3.client("s3", region_name=REGION)
        bucket = cloud.stack.output("ResearchDataBucketName")
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]
        objects = {o["Key"]: s3.head_object(Bucket=bucket, Key=o["Key"]) for o in listed}
        png = s3.get_object(Bucket=bucket, Key=run.result["keys"]["png"])["Body"].read()
        report = json.loads(s3.get_object(Bucket=bucket, Key=run.result["keys"]["json"])["Body"].read())
        opened = cloud.open_link(url)
        try:
            cloud.open_link(url, now=opened.expires + timedelta(seconds=1))
            expired = None
        except LinkRefused as refused:
            expired = refused
        from moto.sts.models import sts_backends

        key_id = parse_qs(urlparse(url).query)["X-Amz-Credential"][0].split("/")[0]
        session = sts_backends[ACCOUNT_ID]["aws"].get_assumed_role_from_access_key(key_id)
        configuration = boto3.client("lambda", region_name=REGION).get_function_configuration(
            FunctionName=cloud.stack.functions[REPORT]
        )
        # Role chaining: the function's role may not hold a second role for more than an hour.
        with acting_as(role_principal(configuration["Role"])):
            sts = boto3.client("sts", region_name=REGION)
            try:
                sts.assume_role(RoleArn=session.role_arn, RoleSessionName="long", DurationSeconds=7200)
                chained = None
            except ClientError as error:
                chained = error.response["Error"]
        # A Signature Version 2 link to the same (SSE-KMS) object, signed by the same session.
        v2 = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id=session.access_key_id,
            aws_secret_access_key=session.secret_access_key,
            aws_session_token=session.session_token,
            config=boto3.session.Config(signature_version="s3"),
        ).generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": run.result["keys"]["png"]})
        try:
            cloud.open_link(v2)
            sigv2 = None
        except LinkRefused as refused:
            sigv2 = refused
        gathered = types.SimpleNamespace(
            played=played, run=run, email=email, url=url, objects=objects, png=png, report=report,
            opened=opened, expired=expired, session=session, configuration=configuration, chained=chained,
            sigv2=sigv2, logs=cloud.function_log_lines(), denials=list(cloud.authorizer.denials), bucket=bucket,
        )  # fmt: skip
    return gathered  # the cloud is gone: the other tests start their own


def test_the_schedule_fires_the_function_weekly_through_eventbridges_permission(weekly):
    run = weekly.run
    assert (run.schedule, run.state, run.refused) == ("rate(7 days)", "ENABLED", None)
    assert ":rule/" in run.rule and run.succeeded and run.attempts == 1
    assert weekly.denials == []  # every read, write, key use and the role assumption allowed by IAM


def test_a_run_writes_the_report_under_reports_encrypted_with_the_stacks_key(weekly):
    prefix = weekly.run.result["reportPrefix"]
    names = {"research-report.png": "image/png", "research-report.json": "application/json",
             "research-report.csv": "text/csv"}  # fmt: skip
    assert {k.removeprefix(prefix): o["ContentType"] for k, o in weekly.objects.items()} == names
    assert all(o["ServerSideEncryption"] == "aws:kms" for o in weekly.objects.values())
    assert prefix.startswith("reports/") and weekly.png.startswith(b"\x89PNG")
    # Every event of the scenario read; those after the window's last whole hour left out, by reason.
    summary = weekly.report["input"]
    assert summary["parsed"] == weekly.played.events
    assert summary["attributed"] + sum(summary["unattributed"].values()) == summary["parsed"]
    [pooled] = [c for c in weekly.report["comparisons"]
                if c["scope"] == "POOLED_CONTROLLED" and c["milestone"] == "first_indexed"]  # fmt: skip
    assert pooled["status"] == "ESTIMATED" and pooled["ciLow"] > 1


def test_the_email_carries_the_headline_and_a_link_that_opens_the_chart_until_the_promised_time(weekly):
    email, opened, report = weekly.email, weekly.opened, weekly.report
    [pooled] = [c for c in report["comparisons"]
                if c["scope"] == "POOLED_CONTROLLED" and c["milestone"] == "first_indexed"]  # fmt: skip
    assert f"{pooled['ratio']:.2g}x attacks after first indexed" in email.subject and len(email.subject) < 100
    assert pooled["reading"] in email.body
    assert f"{report['input']['parsed']:,} Conpot events read" in email.body
    # The link: Signature Version 4, the chart's object, signed by the link role's session, valid
    # exactly as long as the function's setting promises and the email says.
    query = parse_qs(urlparse(weekly.url).query)
    promised = int(weekly.configuration["Environment"]["Variables"]["REPORT_LINK_SECONDS"])
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and int(query["X-Amz-Expires"][0]) == promised == 3600
    assert opened.key == weekly.run.result["keys"]["png"] and opened.body == weekly.png
    assert opened.signer_role.split("/")[-1].startswith("ics-honeynet-local-ReportLinkRole-")
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert opened.expires == signed + timedelta(seconds=promised)
    session_end = weekly.session.expiration.replace(tzinfo=UTC)
    assert abs((session_end - opened.expires).total_seconds()) < 5  # the session lasts as long as the link
    assert f"this link works until {opened.expires:%Y-%m-%d %H:%M} UTC" in email.body
    assert weekly.expired is not None and weekly.expired.message == "Request has expired"


def test_aws_refuses_what_the_function_does_not_do(weekly):
    # An SSE-KMS object needs a Signature Version 4 link; a chained role session lasts an hour at most.
    assert weekly.sigv2 is not None and weekly.sigv2.code == "InvalidArgument"
    assert weekly.chained is not None and weekly.chained["Code"] == "ValidationError"
    assert "1 hour session limit for roles assumed by role chaining" in weekly.chained["Message"]


def test_no_secret_in_the_logs_or_the_email_but_the_links_own_credentials(weekly):
    session, logs, body = weekly.session, "\n".join(weekly.logs), weekly.email.body
    assert session.secret_access_key not in body and session.secret_access_key not in logs
    assert body.count(session.session_token.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")) == 1
    assert "X-Amz-Signature" not in logs and session.session_token not in logs
    assert "X-Amz-Signature" not in json.dumps(weekly.run.result)


# -- defects AWS would punish ---------------------------------------------------------------------
LAYER = "      Layers: [!Ref ReportChartLayer]\n"
DECRYPT_REPORTS = """              - Sid: DecryptReports
                Effect: Allow
                Action: kms:Decrypt"""


def _fire(template, **kwargs) -> tuple:
    with LocalCloud(tasks=0, template_path=template, **kwargs) as cloud:
        run = cloud.fire_schedule(REPORT)
        emails = cloud.emails()
        keys = (
            boto3.client("s3", region_name=REGION)
            .list_objects_v2(Bucket=cloud.stack.output("ResearchDataBucketName"), Prefix="reports/")
            .get("Contents", [])
        )
        opened = None
        if run.succeeded:
            try:
                opened = cloud.open_link(_link(_weekly_email(cloud).body))
            except LinkRefused as refused:
                opened = refused
        return run, emails, keys, opened


def test_without_its_layer_the_function_cannot_import_matplotlib_and_the_failure_is_emailed(tmp_path):
    run, emails, keys, _opened = _fire(mutant(tmp_path, LAYER, ""))
    message = "Unable to import module 'ics_honeynet.handlers.weekly_report': No module named 'matplotlib'"
    assert (run.error, run.attempts) == ("Runtime.ImportModuleError", 2)  # the run and Lambda's one retry
    assert run.result["errorMessage"] == message and keys == []
    [failure] = [json.loads(e.body) for e in emails if e.body.startswith("{")]
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["responsePayload"]["errorMessage"] == message


def test_the_real_template_reports_even_with_no_data_yet():
    run, emails, keys, opened = _fire(TEMPLATE)
    assert run.succeeded and len(keys) == 3 and opened.body.startswith(b"\x89PNG")
    [email] = [e for e in emails if e.subject.startswith(SUBJECT)]
    assert "nothing to compare" in email.body and email.subject == f"{SUBJECT}: no estimate yet"


def test_a_link_role_without_the_keys_grant_signs_links_that_s3_refuses(tmp_path):
    run, _emails, keys, opened = _fire(
        mutant(tmp_path, DECRYPT_REPORTS, DECRYPT_REPORTS.replace("kms:Decrypt", "kms:DescribeKey"))
    )
    assert run.succeeded and len(keys) == 3  # signing needs no permission: opening the link does
    assert isinstance(opened, LinkRefused) and opened.code == "AccessDenied"
    assert "is not authorized to perform: kms:Decrypt" in opened.message


def test_a_link_role_that_does_not_trust_the_function_fails_the_run(tmp_path):
    trust = "            Principal: { AWS: !GetAtt WeeklyReportFunctionRole.Arn }"
    run, emails, _keys, _opened = _fire(
        mutant(tmp_path, trust, '            Principal: { AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root" }')
    )
    assert run.error == "ClientError" and "sts:AssumeRole" in run.result["errorMessage"]
    assert any(e.body.startswith("{") and "RetriesExhausted" in e.body for e in emails)


def test_report_schedule_off_keeps_the_rule_disabled():
    run, emails, keys, _opened = _fire(TEMPLATE, parameters={"ReportSchedule": "off"})
    assert (run.state, run.refused, run.attempts) == ("DISABLED", "the rule is DISABLED", 0)
    assert keys == [] and not [e for e in emails if e.subject.startswith(SUBJECT)]
