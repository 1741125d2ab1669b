"""The real template.yaml, transformed offline by aws-sam-translator: assert the CloudFormation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ics_honeynet.contracts import ExperimentMode
from localcloud.sam import load_template, transform_template
from localcloud.stack import DeployError, _evaluate_condition, _resolve_if, parameter_values

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "statemachine" / "sweep.asl.json"
PARAMS = {"AlertEmail": "researcher@example.org"}

TEMPLATE_PORTS = {
    "default": {("tcp", 80), ("tcp", 102), ("tcp", 502), ("tcp", 21), ("tcp", 44818), ("udp", 161), ("udp", 47808)},
    "IEC104": {("tcp", 2404)},
    "guardian_ast": {("tcp", 10001)},
    "ipmi": {("udp", 623)},
    "kamstrup_382": {("tcp", 1025), ("tcp", 50100)},
}


def resolved(parameters: dict[str, str]) -> dict:
    """The transformed template with its conditions applied, as CloudFormation would."""
    cfn = transform_template(TEMPLATE, {**PARAMS, **parameters})
    values = parameter_values(cfn["Parameters"], {**PARAMS, **parameters})
    conditions = cfn.get("Conditions", {})
    truth = {name: _evaluate_condition(expr, conditions, values) for name, expr in conditions.items()}
    resources = {lid: r for lid, r in cfn["Resources"].items() if truth.get(r.get("Condition", ""), True)}
    return {**cfn, "Resources": _resolve_if(resources, truth), "Outputs": _resolve_if(cfn["Outputs"], truth)}


# The tests share a module-scoped fixture: one worker runs them all, in order, and makes it once
# (make test runs the suite on several workers with --dist loadgroup).
pytestmark = pytest.mark.xdist_group(__name__)


def with_censys() -> dict:
    """The stack with a Censys token (CensysOn)."""
    return resolved({"CensysTokenParameter": "/ics-honeynet/censys-token"})


@pytest.fixture(scope="module")
def cfn() -> dict:
    return resolved({})


def of_type(cfn: dict, kind: str) -> dict[str, dict]:
    return {lid: r for lid, r in cfn["Resources"].items() if r["Type"] == kind}


def test_schedule_rule_starts_the_state_machine(cfn):
    rule = cfn["Resources"]["SweepStateMachineSweep"]
    assert rule["Properties"]["ScheduleExpression"] == {"Ref": "SweepSchedule"}
    assert cfn["Parameters"]["SweepSchedule"]["Default"] == "rate(12 hours)"
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "SweepStateMachine"}


def test_a_second_schedule_runs_the_research_report_weekly_unless_off(cfn):
    rules = of_type(cfn, "AWS::Events::Rule")
    assert set(rules) == {"SweepStateMachineSweep", "WeeklyReportFunctionReport"}
    report = rules["WeeklyReportFunctionReport"]["Properties"]
    assert cfn["Parameters"]["ReportSchedule"]["Default"] == "rate(7 days)"
    assert (report["ScheduleExpression"], report["State"]) == ({"Ref": "ReportSchedule"}, "ENABLED")
    [target] = report["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["WeeklyReportFunction", "Arn"]}
    off = resolved({"ReportSchedule": "off"})["Resources"]["WeeklyReportFunctionReport"]["Properties"]
    assert (off["ScheduleExpression"], off["State"]) == ("rate(7 days)", "DISABLED")  # kept, not fired


def test_definition_substitutions_match_the_asl_tokens(cfn):
    machine = cfn["Resources"]["SweepStateMachine"]["Properties"]
    tokens = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", ASL.read_text()))
    assert tokens == set(machine["DefinitionSubstitutions"])
    assert machine["LoggingConfiguration"]["Level"] == "ERROR"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machine["TracingConfiguration"] == {"Enabled": True}


INDUSTRIAL = "default,IEC104,guardian_ast,ipmi,kamstrup_382"  # T-Pot 22.04's industrial profile


def honeypot_services(cfn: dict) -> dict[str, tuple[dict, dict, dict]]:
    """Conpot template -> (service, its task definition, its security group), as deployed."""
    found = {}
    for service in of_type(cfn, "AWS::ECS::Service").values():
        definition = cfn["Resources"][service["Properties"]["TaskDefinition"]["Ref"]]
        [group_ref] = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
        init = definition["Properties"]["ContainerDefinitions"][0]
        template = next(e["Value"] for e in init["Environment"] if e["Name"] == "PERSONA_TEMPLATE")
        found[template] = (service, definition, cfn["Resources"][group_ref["Ref"]])
    return found


@pytest.mark.parametrize(
    "templates", ["default", "IEC104", "guardian_ast", "ipmi", "kamstrup_382", INDUSTRIAL, "ipmi, default"]
)
def test_one_service_per_template_each_opening_exactly_its_ports(templates):
    cfn = resolved({"HoneypotTemplates": templates})
    selected = {t.strip() for t in templates.split(",")}
    services = honeypot_services(cfn)
    assert set(services) == selected
    assert (
        len(of_type(cfn, "AWS::EC2::SecurityGroup")) == len(of_type(cfn, "AWS::ECS::TaskDefinition")) == len(selected)
    )
    for template, (service, definition, group) in services.items():
        rules = group["Properties"]["SecurityGroupIngress"]
        assert {(r["IpProtocol"], r["FromPort"]) for r in rules} == TEMPLATE_PORTS[template]
        assert all(r["FromPort"] == r["ToPort"] and r["Description"] for r in rules)
        init, _shipper, container = definition["Properties"]["ContainerDefinitions"]
        assert {(m["Protocol"], m["ContainerPort"]) for m in container["PortMappings"]} == TEMPLATE_PORTS[template]
        # Conpot starts from the persona the init container rendered from its service's template.
        env = {e["Name"]: e["Value"] for e in container["Environment"]}
        init_env = {e["Name"]: e["Value"] for e in init["Environment"]}
        assert (
            env["CONPOT_TEMPLATE"] == init_env["PERSONA_DIR"] == container["WorkingDirectory"] == "/run/conpot-persona"
        )
        assert service["Properties"]["DesiredCount"] == {"Ref": "HoneypotCount"}
    # The sweep lists every service with its template.
    lister = cfn["Resources"]["ListHoneypotIpsFunction"]["Properties"]["Environment"]["Variables"]
    listed = lister["HONEYPOT_SERVICES"]["Fn::Join"][1]
    assert [item["Fn::Sub"].split("=")[0] for item in listed] == [t for t in TEMPLATE_PORTS if t in selected]
    assert cfn["Outputs"]["HoneypotServiceNames"]["Value"] == lister["HONEYPOT_SERVICES"]


def test_each_task_definition_with_its_persona_program_fits_ecs_size_quota():
    # ECS quotas: a task definition is at most 64 KiB (32 KiB in older documentation, the bound
    # held here); the init container's program (tools/persona_blob.py) is most of it.
    for _service, definition, _group in honeypot_services(resolved({"HoneypotTemplates": INDUSTRIAL})).values():
        assert len(json.dumps(definition["Properties"], separators=(",", ":"))) < 32 * 1024


@pytest.mark.parametrize(("templates", "error"), [
    ("default,IEC-104", "Parameter 'HoneypotTemplates' must be one of AllowedValues"),
    ("", "Parameter 'HoneypotTemplates' must be one of AllowedValues"),
])  # fmt: skip
def test_a_template_conpot_has_not_is_refused_as_cloudformation_refuses_it(templates, error):
    with pytest.raises(DeployError, match=error):
        resolved({"HoneypotTemplates": templates})


def test_egress_is_limited(cfn):
    egress = cfn["Resources"]["DefaultHoneypotSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert {(r["IpProtocol"], r["FromPort"]) for r in egress} == {("tcp", 443), ("tcp", 80), ("udp", 53), ("tcp", 53)}


def _statements(cfn: dict) -> list[tuple[str, dict]]:
    found = []
    for lid, resource in of_type(cfn, "AWS::IAM::Role").items():
        for policy in resource["Properties"].get("Policies", []):
            found += [(lid, s) for s in policy["PolicyDocument"]["Statement"]]
    return found


def test_no_iam_statement_allows_every_action(cfn):
    statements = _statements(cfn)
    assert len(statements) > 8
    for lid, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert action != "*" and not str(action).endswith(":*"), f"{lid} allows {action}"


def test_only_apis_without_resource_level_permissions_use_star_resources(cfn):
    allowed_star = {
        "ec2:DescribeNetworkInterfaces",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:GetSamplingStatisticSummaries",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
    # Authorised against "*" and scoped by a condition key to this stack's resources.
    star_with_condition = {"ecs:ListTasks": "ecs:cluster"}
    for lid, statement in _statements(cfn):
        if statement.get("Resource") == "*":
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            scoped = {a for a in actions if a in star_with_condition}
            for action in scoped:
                keys = {key for clauses in statement.get("Condition", {}).values() for key in clauses}
                assert star_with_condition[action] in keys, (
                    f"{lid}: {action} on * without {star_with_condition[action]}"
                )
            assert set(actions) - scoped <= allowed_star, f"{lid}: {actions} on *"


def s3_grants(role: dict) -> set[tuple[str, str]]:
    grants = set()
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in (a for a in actions if a.startswith("s3:")):
                grants |= {(action, _resource_text(r).removeprefix("${EvidenceBucket.Arn}/")) for r in resources}
    return grants


def _resource_text(resource: dict) -> str:
    if "Fn::Sub" in resource:
        return str(resource["Fn::Sub"])
    logical_id, attribute = resource["Fn::GetAtt"]
    return "${" + f"{logical_id}.{attribute}" + "}"


def test_function_permissions_are_scoped(cfn):
    roles = {lid: json.dumps(r) for lid, r in of_type(cfn, "AWS::IAM::Role").items()}
    shodan = roles["ShodanLookupFunctionRole"]
    assert "ssm:GetParameter" in shodan and "parameter${ShodanApiKeyParameter}" in shodan
    assert "ecs:" not in shodan and "ssm:" not in roles["SummarizeSweepFunctionRole"]
    assert "ssm:" not in roles["InternetDbLookupFunctionRole"]  # InternetDB needs no key: it cannot read it
    assert "task/${HoneypotCluster}/*" in roles["SweepStateMachineRole"]
    # Each S3 grant names one prefix of the evidence bucket, for the one function that needs it.
    grants = {lid: s3_grants(r) for lid, r in of_type(cfn, "AWS::IAM::Role").items()}
    assert grants == {
        "ListHoneypotIpsFunctionRole": {("s3:PutObject", "targets/*")},
        "ShodanLookupFunctionRole": set(),  # the check writes nothing: the state machine stores it
        "InternetDbLookupFunctionRole": set(),  # neither does InternetDB's
        "RequestShodanScanFunctionRole": set(),  # neither does the scan request
        "ShodanWebhookFunctionRole": set(),  # nor the webhook: it starts a sweep, which does
        "SyncShodanAlertFunctionRole": set(),  # nor the alert sync (its record is in the push table)
        "SummarizeSweepFunctionRole": {
            ("s3:GetObject", "targets/*"),
            ("s3:GetObject", "evidence/*"),
            ("s3:GetObject", "errors/*"),
            ("s3:PutObject", "sweeps/*"),
        },
        "TrackRotationFunctionRole": set(),
        "SweepStateMachineRole": {("s3:PutObject", "evidence/*"), ("s3:PutObject", "errors/*")},
        "SweepStateMachineSweepRole": set(),  # EventBridge: starts the sweep, nothing else
        "HoneypotExecutionRole": set(),
        # Firehose: finds the research-data bucket, writes events/ only.
        "EventsDeliveryRole": {
            ("s3:GetBucketLocation", "${ResearchDataBucket.Arn}"),
            ("s3:ListBucket", "${ResearchDataBucket.Arn}"),
            ("s3:ListBucketMultipartUploads", "${ResearchDataBucket.Arn}"),
            ("s3:PutObject", "${ResearchDataBucket.Arn}/events/*"),
            ("s3:GetObject", "${ResearchDataBucket.Arn}/events/*"),
            ("s3:AbortMultipartUpload", "${ResearchDataBucket.Arn}/events/*"),
        },
        "EventsSubscriptionRole": set(),
        # The research report: reads events/, writes reports/; its link's signer reads reports/ only.
        "WeeklyReportFunctionRole": {
            ("s3:ListBucket", "${ResearchDataBucket.Arn}"),
            ("s3:GetObject", "${ResearchDataBucket.Arn}/events/conpot/*"),
            ("s3:PutObject", "${ResearchDataBucket.Arn}/reports/*"),
        },
        "ReportLinkRole": {("s3:GetObject", "${ResearchDataBucket.Arn}/reports/*")},
    }


def test_functions_run_python313_on_arm64(cfn):
    functions = of_type(cfn, "AWS::Lambda::Function")
    assert len(functions) == 9  # CensysLookup only with a Censys token
    assert len(of_type(with_censys(), "AWS::Lambda::Function")) == 10
    for function in functions.values():
        assert function["Properties"]["Runtime"] == "python3.13"
        assert function["Properties"]["Architectures"] == ["arm64"]
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_the_functions_share_one_package_each_with_its_handler():
    """One CodeUri (src/, the ics_honeynet package) for all; each Handler is a handler module of it."""
    template = load_template(TEMPLATE)
    assert template["Globals"]["Function"]["CodeUri"] == "src/"
    functions = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    handlers = {r["Properties"]["Handler"] for r in functions.values()}
    assert len(handlers) == len(functions) == 10
    for logical_id, function in functions.items():
        assert "CodeUri" not in function["Properties"], logical_id
        module, _, attribute = function["Properties"]["Handler"].rpartition(".")
        assert module.startswith("ics_honeynet.handlers.") and attribute == "lambda_handler"
        assert (ROOT / "src" / (module.replace(".", "/") + ".py")).is_file(), logical_id
    # The runtime dependencies, built into each function, are pinned as the tests run them.
    dev = set((ROOT / "requirements-dev.txt").read_text().split())
    runtime = [line for line in (ROOT / "src" / "requirements.txt").read_text().splitlines() if "==" in line]
    assert runtime and set(runtime) <= dev


def test_matplotlib_is_in_the_report_functions_layer_only():
    template = load_template(TEMPLATE)
    resources = template["Resources"]
    with_layers = {k: r["Properties"]["Layers"] for k, r in resources.items() if "Layers" in r.get("Properties", {})}
    assert with_layers == {"WeeklyReportFunction": [{"Ref": "ReportChartLayer"}]}
    assert "Layers" not in template["Globals"]["Function"]
    layer = resources["ReportChartLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion" and layer["Metadata"]["BuildMethod"] == "python3.13"
    pins = [line for line in (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").read_text().splitlines()]
    pins = [line for line in pins if "==" in line]
    assert pins == ["matplotlib==3.11.2"]
    assert set(pins) <= set((ROOT / "requirements-dev.txt").read_text().split())
    assert f'report = ["{pins[0]}"]' in (ROOT / "pyproject.toml").read_text()
    # The sweep's functions do not carry it: their package's requirements name no plotting library.
    assert "matplotlib" not in (ROOT / "src" / "requirements.txt").read_text()


@pytest.mark.parametrize("template", sorted(TEMPLATE_PORTS))
def test_honeypot_task_is_locked_down(template):
    cfn = resolved({"HoneypotTemplates": INDUSTRIAL})
    props = honeypot_services(cfn)[template][1]["Properties"]
    assert "TaskRoleArn" not in props  # a compromised honeypot holds no AWS credentials
    assert (props["Cpu"], props["Memory"], props["NetworkMode"]) == ("256", "512", "awsvpc")
    init, shipper, container = props["ContainerDefinitions"]
    assert init["ReadonlyRootFilesystem"] is True and container["ReadonlyRootFilesystem"] is True
    assert shipper["ReadonlyRootFilesystem"] is True
    assert (init["Memory"], shipper["Memory"], container["Memory"]) == (48, 32, 432)
    mounts = {m["ContainerPath"]: m["ReadOnly"] for m in container["MountPoints"]}
    assert mounts == {"/tmp/conpot": False, "/var/log/conpot": False, "/run/conpot-persona": True}
    assert {e["Name"] for e in container["Environment"]} == {
        "CONPOT_CONFIG",
        "CONPOT_JSON_LOG",
        "CONPOT_LOG",
        "CONPOT_TEMPLATE",
        "CONPOT_TMP",
    }
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    role = json.dumps(cfn["Resources"]["HoneypotExecutionRole"])
    assert "logs:CreateLogStream" in role and "ecr:" not in role and "s3:" not in role


def test_service_gets_public_ips_and_spot_is_optional():
    for service, _definition, _group in honeypot_services(resolved({"HoneypotTemplates": INDUSTRIAL})).values():
        properties = service["Properties"]
        assert properties["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
        assert properties["LaunchType"] == "FARGATE" and "CapacityProviderStrategy" not in properties
    spot = resolved({"UseFargateSpot": "true", "HoneypotTemplates": INDUSTRIAL})
    for service, _definition, _group in honeypot_services(spot).values():
        properties = service["Properties"]
        assert "LaunchType" not in properties
        assert properties["CapacityProviderStrategy"][0]["CapacityProvider"] == "FARGATE_SPOT"


def test_evidence_bucket_is_private_encrypted_versioned_and_tls_only(cfn):
    bucket = cfn["Resources"]["EvidenceBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms"
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {"Ref": "EvidenceRetentionDays"}
    [statement] = cfn["Resources"]["EvidenceBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_alerts_and_logs_are_encrypted_and_logs_expire(cfn):
    assert cfn["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "HoneynetKey"}
    assert cfn["Resources"]["HoneynetKey"]["Properties"]["EnableKeyRotation"] is True
    groups = of_type(cfn, "AWS::Logs::LogGroup")
    assert len(groups) >= 6
    for lid, group in groups.items():
        retention = "EventLogRetentionDays" if lid == "HoneypotEventLogGroup" else "LogRetentionDays"
        assert group["Properties"]["RetentionInDays"] == {"Ref": retention}
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["HoneynetKey", "Arn"]}


def test_the_shodan_key_is_never_in_the_template():
    text = TEMPLATE.read_text()
    assert "ShodanApiKeyParameter" in text and "SecureString" in text
    cfn = transform_template(TEMPLATE, PARAMS)
    env = cfn["Resources"]["ShodanLookupFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SHODAN_API_KEY_PARAMETER"] == {"Ref": "ShodanApiKeyParameter"}


def test_honeynet_vpc_holds_only_the_honeypots(cfn):
    # Nothing but the honeynet uses its subnets: the functions run outside any VPC.
    for function in of_type(cfn, "AWS::Lambda::Function").values():
        assert "VpcConfig" not in function["Properties"]
    assert len(of_type(cfn, "AWS::EC2::Subnet")) == 2
    assert len(of_type(cfn, "AWS::ECS::Service")) == 1


def test_exposure_table_is_on_demand_encrypted_recoverable_and_retained(cfn):
    table = cfn["Resources"]["ExposureTable"]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True and props["SSESpecification"]["SSEType"] == "KMS"
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_only_the_summarizer_and_the_rotation_counter_write_the_exposure_table(cfn):
    # The Shodan client only reserves request slots (the lookup's and the scan request's); the
    # webhook keeps to the push table.
    tables = {
        "ShodanLookupFunctionRole": "ShodanPaceTable",
        "InternetDbLookupFunctionRole": "ShodanPaceTable",  # InternetDB's own pace, beside the key's
        "RequestShodanScanFunctionRole": "ShodanPaceTable",
        "ShodanWebhookFunctionRole": "ShodanPushTable",
        "SyncShodanAlertFunctionRole": ("ShodanPaceTable", "ShodanPushTable"),  # the client's pace, its record
    }
    grants = {}
    for logical_id, role in of_type(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                dynamo = sorted(a for a in actions if a.startswith("dynamodb:"))
                if dynamo:
                    allowed = tables.get(logical_id, "ExposureTable")
                    allowed = (allowed,) if isinstance(allowed, str) else allowed
                    assert statement["Resource"] in [{"Fn::GetAtt": [table, "Arn"]} for table in allowed]
                    grants.setdefault(logical_id, []).extend(dynamo)
    assert grants == {
        "SummarizeSweepFunctionRole": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
        "SweepStateMachineRole": ["dynamodb:UpdateItem"],
        "ShodanLookupFunctionRole": ["dynamodb:UpdateItem"],
        "InternetDbLookupFunctionRole": ["dynamodb:UpdateItem"],
        "RequestShodanScanFunctionRole": ["dynamodb:UpdateItem"],
        "ShodanWebhookFunctionRole": [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ],
        "SyncShodanAlertFunctionRole": ["dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem"],
        "WeeklyReportFunctionRole": ["dynamodb:Scan"],  # the research report reads the tenures
    }


def test_experiment_mode_is_off_by_default_and_the_scan_function_knows_it(cfn):
    template = load_template(TEMPLATE)
    parameter = template["Parameters"]["ExperimentMode"]
    assert parameter["Default"] == ExperimentMode.OFF and parameter["AllowedValues"] == [*ExperimentMode]
    assert "scan credit" in parameter["Description"] and "ON PURPOSE" in parameter["Description"]
    scan = cfn["Resources"]["RequestShodanScanFunction"]["Properties"]
    assert scan["Environment"]["Variables"]["EXPERIMENT_MODE"] == {"Ref": "ExperimentMode"}

    # The Shodan client's needs are the lookup's, written once (a YAML anchor).
    def statements(role: str) -> list[dict]:
        return [p["PolicyDocument"] for p in cfn["Resources"][role]["Properties"]["Policies"]]

    assert statements("RequestShodanScanFunctionRole") == statements("ShodanLookupFunctionRole")
    # One slot behind the other scans of RequestScans (MaxConcurrency) and one request.
    assert scan["Timeout"] > 4 * 1.03 * 1.5 + 10 and scan["Environment"]["Variables"]["SHODAN_TIMEOUT_SECONDS"] == "10"


# -- what AWS requires of a deployment (issue: real AWS) ------------------------------------------
def test_one_check_finishes_within_the_lookups_timeout_at_the_largest_map_concurrency(cfn):
    # At 1 request/s a check waits for its slot behind at most MapConcurrency others (each up to
    # 50% slower after 429s), then asks the host and the honeyscore with its backoff (8 tries).
    lookup = cfn["Resources"]["ShodanLookupFunction"]["Properties"]
    slot_wait = cfn["Parameters"]["MapConcurrency"]["MaxValue"] * 1.03 * 1.5
    honeyscore_backoff = 1 + 2 + 4 + 8 + 16 + 30 + 30  # RetryPolicy: rate_limit_base_s doubling, capped at 30 s
    requests = 2 * 10  # SHODAN_TIMEOUT_SECONDS each
    assert lookup["Environment"]["Variables"]["SHODAN_TIMEOUT_SECONDS"] == "10"
    assert slot_wait + honeyscore_backoff + requests < lookup["Timeout"] == 180
    assert "SHODAN_PACE_TABLE" in lookup["Environment"]["Variables"]


def test_an_internetdb_lookup_finishes_within_its_timeout_at_the_largest_map_concurrency(cfn):
    # Its slot behind at most MapConcurrency others (each up to 50% slower after 429s), one request.
    function = cfn["Resources"]["InternetDbLookupFunction"]["Properties"]
    env = function["Environment"]["Variables"]
    rate = float(env["INTERNETDB_REQUESTS_PER_SECOND"])
    slot_wait = cfn["Parameters"]["MapConcurrency"]["MaxValue"] * 1.03 / rate * 1.5
    assert slot_wait + float(env["INTERNETDB_TIMEOUT_SECONDS"]) < function["Timeout"] == 90
    assert env["SHODAN_PACE_TABLE"] == {"Ref": "ShodanPaceTable"}


def test_a_censys_lookup_finishes_within_its_timeout_at_the_largest_map_concurrency(cfn):
    # Its slot behind at most MapConcurrency others (each up to 50% slower after 429s), one request.
    function = with_censys()["Resources"]["CensysLookupFunction"]["Properties"]
    env = function["Environment"]["Variables"]
    rate = float(env["CENSYS_REQUESTS_PER_SECOND"])
    slot_wait = cfn["Parameters"]["MapConcurrency"]["MaxValue"] * 1.03 / rate * 1.5
    assert slot_wait + float(env["CENSYS_TIMEOUT_SECONDS"]) < function["Timeout"] == 180
    assert env["SHODAN_PACE_TABLE"] == {"Ref": "ShodanPaceTable"}


def test_censys_exists_only_with_a_token_and_only_its_function_reads_the_token(cfn):
    assert "CensysLookupFunction" not in cfn["Resources"]
    machine = of_type(cfn, "AWS::StepFunctions::StateMachine")["SweepStateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"]["CensysUntilAsked"] == "OFF"  # nothing asks Censys
    template = load_template(TEMPLATE)
    assert template["Conditions"]["CensysOn"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "CensysTokenParameter"}, ""]}]}
    assert template["Parameters"]["CensysTokenParameter"]["Default"] == ""
    conditional = {k for k, r in template["Resources"].items() if r.get("Condition") == "CensysOn"}
    assert conditional == {"CensysLookupFunction", "CensysLookupLogGroup"}
    readers = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if "CensysTokenParameter" in json.dumps(resource.get("Properties", {}).get("Policies", []))
    }
    assert readers == {"CensysLookupFunction"}


def test_the_longest_rotation_the_parameters_allow_fits_in_the_execution_timeout(cfn):
    # An execution timeout cannot be caught: the sweep record and history would never be written.
    params = cfn["Parameters"]
    worst = (
        params["MaxRotationAttempts"]["MaxValue"]
        * params["ReplacementChecks"]["MaxValue"]
        * params["ReplacementWaitSeconds"]["MaxValue"]
    )
    assert worst == 18_000
    assert json.loads(ASL.read_text())["TimeoutSeconds"] == 21_600  # an hour left for everything else


def test_the_exposure_tables_key_and_the_evidence_bucket_outlive_the_stack(cfn):
    for lid in ("ExposureTable", "HoneynetKey", "EvidenceBucket"):
        resource = cfn["Resources"][lid]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain"), lid


def test_the_service_starts_after_its_route_out_and_fails_fast_when_a_task_cannot_start():
    for service, _definition, _group in honeypot_services(resolved({"HoneypotTemplates": INDUSTRIAL})).values():
        assert set(service["DependsOn"]) == {"PublicDefaultRoute", "PublicSubnetARouteTable", "PublicSubnetBRouteTable"}
        breaker = service["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
        assert breaker == {"Enable": True, "Rollback": True}


def test_the_image_comes_from_t_pots_default_registry(cfn):
    assert cfn["Parameters"]["HoneypotImage"]["Default"] == "ghcr.io/telekom-security/conpot:24.04.1"


@pytest.mark.parametrize(
    ("value", "accepted"), [("1", True), ("0.5", True), ("25", True), ("0", False), ("0.0", False)]
)
def test_shodan_rate_must_be_positive(cfn, value, accepted):
    assert bool(re.fullmatch(cfn["Parameters"]["ShodanRequestsPerSecond"]["AllowedPattern"], value)) is accepted


def test_every_lambda_task_retries_the_errors_aws_recommends():
    recommended = {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.ClientExecutionTimeoutException",
    }

    def tasks(states: dict) -> list[tuple[str, dict]]:
        found = []
        for name, state in states.items():
            if state.get("Resource") == "arn:aws:states:::lambda:invoke":
                found.append((name, state))
            for child in [state.get("ItemProcessor") or state.get("Iterator") or {}, *state.get("Branches", [])]:
                found += tasks(child.get("States", {}))
        return found

    lambda_tasks = tasks(json.loads(ASL.read_text())["States"])
    assert len(lambda_tasks) == 13
    for name, state in lambda_tasks:
        retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
        if name == "RequestScan":
            # A paid request that exposes a honeypot is sent at most once: an invocation is retried
            # only when it cannot have reached Shodan (throttled by Lambda, the pace table down
            # before the request, Shodan's 429). ServiceException, SdkClientException and a client
            # timeout may come after the function ran.
            assert retried == {"Lambda.TooManyRequestsException", "PacerUnavailableError", "ShodanRateLimitError"}
            continue
        assert recommended <= retried, name


def test_conpot_starts_only_after_a_root_init_container_prepared_its_volumes(cfn):
    [definition] = of_type(cfn, "AWS::ECS::TaskDefinition").values()
    init, shipper, conpot = definition["Properties"]["ContainerDefinitions"]
    assert (init["Name"], init["User"], init["Essential"]) == ("prepare-volumes", "0", False)
    assert {"ContainerName": "prepare-volumes", "Condition": "SUCCESS"} in conpot["DependsOn"]
    assert {m["ContainerPath"] for m in init["MountPoints"]} == {m["ContainerPath"] for m in conpot["MountPoints"]}
    assert init["Memory"] + shipper["Memory"] + conpot["Memory"] <= int(definition["Properties"]["Memory"])


# -- attack events: the shipper, the pipeline, the tables ---------------------------------------
CONPOT_RECORD_FIELDS = [  # conpot/core/loggers/json_log.py, in the order it writes them
    "timestamp", "sensorid", "id", "src_ip", "src_port", "dst_ip", "dst_port",
    "public_ip", "data_type", "request", "response", "event_type",
]  # fmt: skip


def _containers(cfn: dict) -> dict[str, dict]:
    [definition] = of_type(cfn, "AWS::ECS::TaskDefinition").values()
    return {c["Name"]: c for c in definition["Properties"]["ContainerDefinitions"]}


def test_the_shipper_tails_exactly_conpots_json_event_log_read_only():
    for _service, definition, _group in honeypot_services(resolved({"HoneypotTemplates": INDUSTRIAL})).values():
        containers = {c["Name"]: c for c in definition["Properties"]["ContainerDefinitions"]}
        shipper, conpot = containers["ship-events"], containers["conpot"]
        env = {e["Name"]: e["Value"] for e in conpot["Environment"]}
        shipper_env = {e["Name"]: e["Value"] for e in shipper["Environment"]}
        assert shipper_env["CONPOT_JSON_LOG"] == env["CONPOT_JSON_LOG"] == "/var/log/conpot/conpot.json"
        assert shipper["EntryPoint"] == ["/bin/sh", "-c"]
        [script] = shipper["Command"]
        assert 'tail -n +1 -F "$CONPOT_JSON_LOG"' in script  # -F: the file appears only once Conpot runs
        assert "trap 'sleep 2;" in script and "TERM" in script  # drains Conpot's last lines on stop
        [mount] = shipper["MountPoints"]
        log_mount = next(m for m in conpot["MountPoints"] if m["ContainerPath"] == "/var/log/conpot")
        assert mount == {**log_mount, "ReadOnly": True}
        assert shipper["User"] == "2000"  # Conpot's uid: prepare-volumes gives it the directory (0750)


def test_the_shipper_starts_before_conpot_and_stops_after_it(cfn):
    containers = _containers(cfn)
    shipper, conpot = containers["ship-events"], containers["conpot"]
    # ECS stops containers in the reverse order of their dependencies (API, ContainerDependency).
    assert {"ContainerName": "ship-events", "Condition": "START"} in conpot["DependsOn"]
    assert shipper["DependsOn"] == [{"ContainerName": "prepare-volumes", "Condition": "SUCCESS"}]
    assert shipper["Essential"] is True
    options = shipper["LogConfiguration"]["Options"]
    assert options["awslogs-group"] == {"Ref": "HoneypotEventLogGroup"} and options["mode"] == "blocking"


def test_the_event_log_group_is_encrypted_and_forwarded_whole_to_firehose(cfn):
    group = cfn["Resources"]["HoneypotEventLogGroup"]["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["HoneynetKey", "Arn"]}
    assert group["RetentionInDays"] == {"Ref": "EventLogRetentionDays"}
    [subscription] = of_type(cfn, "AWS::Logs::SubscriptionFilter").values()
    props = subscription["Properties"]
    assert props["LogGroupName"] == {"Ref": "HoneypotEventLogGroup"} and props["FilterPattern"] == ""
    trust = cfn["Resources"]["EventsSubscriptionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert (
        trust["Principal"] == {"Service": "logs.amazonaws.com"} and "aws:SourceArn" in trust["Condition"]["StringLike"]
    )


def test_firehose_writes_records_verbatim_one_per_line_gzipped_by_day(cfn):
    [stream] = of_type(cfn, "AWS::KinesisFirehose::DeliveryStream").values()
    destination = stream["Properties"]["ExtendedS3DestinationConfiguration"]
    processors = [p["Type"] for p in destination["ProcessingConfiguration"]["Processors"]]
    assert processors == ["Decompression", "CloudWatchLogProcessing", "AppendDelimiterToRecord"]
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["Prefix"] == "events/conpot/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
    assert "!{firehose:error-output-type}" in destination["ErrorOutputPrefix"]
    assert not destination["ErrorOutputPrefix"].startswith("events/conpot/")  # outside the table


def test_the_glue_tables_match_conpots_records_and_the_delivered_prefixes(cfn):
    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in of_type(cfn, "AWS::Glue::Table").values()
    }
    events = tables["conpot_events"]
    assert [c["Name"] for c in events["StorageDescriptor"]["Columns"]] == CONPOT_RECORD_FIELDS
    assert events["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    for table in tables.values():
        assert [k["Name"] for k in table["PartitionKeys"]] == ["year", "month", "day"]
        assert table["Parameters"]["projection.enabled"] == "true"
    assert events["Parameters"]["storage.location.template"] == {
        "Fn::Sub": "s3://${ResearchDataBucket}/events/conpot/year=${!year}/month=${!month}/day=${!day}/"
    }
    flow = tables["vpc_flow_logs"]
    assert [c["Name"] for c in flow["StorageDescriptor"]["Columns"]][:3] == ["version", "account_id", "interface_id"]
    [flow_log] = of_type(cfn, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["DestinationOptions"]["HiveCompatiblePartitions"] is True
    assert flow_log["Properties"]["LogDestination"] == {"Fn::Sub": "${ResearchDataBucket.Arn}/flow-logs/"}


def test_the_deployed_definition_is_the_rendering_of_the_yaml_source():
    import importlib.util

    spec = importlib.util.spec_from_file_location("asl", Path(__file__).resolve().parents[2] / "tools" / "asl.py")
    asl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(asl)
    assert asl.RENDERED.read_text() == asl.render()
    source = asl.SOURCE.read_text()
    # The Lambda retry block every Lambda task uses is written once, and reused by alias.
    assert source.count("Lambda.ServiceException") == 1
    assert source.count("*lambda_service_errors") == 11  # twelve Lambda tasks
    assert asl.render().count('"Lambda.ServiceException"') == 12
