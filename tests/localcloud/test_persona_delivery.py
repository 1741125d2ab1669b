"""Each honeypot task serves its own persona, delivered without building an image: the init
container's real program runs (python3, the task metadata endpoint, the task's volumes), Conpot
starts from what it rendered, and the audit reads what Conpot serves. Defects put back into a copy
of the template fail the local run as they would fail on AWS."""

from __future__ import annotations

import importlib.util

import pytest

from ics_honeynet.audit.assess import Kind
from ics_honeynet.persona import persona_for, persona_label
from localcloud.cloud import LocalCloud
from localcloud.constants import PROJECT_ROOT
from localcloud.fargate import TaskHost, start_task
from localcloud.stack import DeployError
from localcloud.task_metadata import TaskMetadataEndpoint
from tests.localcloud.test_aws_mutations import mutant, template_copy

TEMPLATE = PROJECT_ROOT / "template.yaml"
PERSONA_MOUNT = "            - { SourceVolume: conpot-persona, ContainerPath: *persona-dir, ReadOnly: false }\n"


def blob_tool():
    spec = importlib.util.spec_from_file_location("persona_blob", PROJECT_ROOT / "tools" / "persona_blob.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def console(task) -> str:
    return "\n".join(task.containers.console.get("prepare-volumes", ()))


def test_each_task_serves_its_own_persona_which_the_audit_finds_clean():
    with LocalCloud(tasks=2) as cloud:
        first, second = cloud.wait_for_running(2)
        labels = []
        for task in (first, second):
            label = persona_label(task.task_arn, "default")
            labels.append(label)
            assert f"persona {label.id} ({label.model}) for task {task.task_arn}" in console(task)
            report = cloud.audit_served_template(task)
            assert report.findings == () and report.errors == (), report.findings
            assert report.score == 0
            persona = persona_for(task.task_arn)
            assert set(report.open_services) == {p.value for p in persona.services}
            served = (task.containers.served.directory / "template.xml").read_text()
            assert persona.s7.serial_number in served  # what the audit read is the task's persona
        assert labels[0].id != labels[1].id
        # A rotation brings a new persona: the replacement is a new task.
        cloud.stop_honeypot(first)
        [replacement] = [t for t in cloud.wait_for_running(2) if t.task_arn not in (first.task_arn, second.task_arn)]
        assert persona_label(replacement.task_arn, "default").id not in {label.id for label in labels}
        assert cloud.audit_served_template(replacement).findings == ()


def test_a_pinned_persona_is_served_by_every_task():
    with LocalCloud(tasks=2, parameters={"PersonaSeed": "experiment-7"}) as cloud:
        label = persona_label("experiment-7", "default")
        for task in cloud.wait_for_running(2):
            assert f"persona {label.id} ({label.model}) for pinned seed experiment-7" in console(task)
            assert cloud.audit_served_template(task).findings == ()


def test_the_stock_control_serves_conpots_defaults_and_the_audit_says_so():
    with LocalCloud(tasks=1, parameters={"PersonaSeed": "stock"}) as cloud:
        [task] = cloud.wait_for_running(1)
        assert "persona stock (Conpot stock template default)" in console(task)
        report = cloud.audit_served_template(task)
        defaults = {f.message.split("'")[1] for f in report.findings if f.kind is Kind.DEFAULT}
        assert {"88111222", "DoE Water Service", "Central Pump", "7079450"} <= defaults
        assert report.score == 100


# -- defects put back -----------------------------------------------------------------------------
def test_conpot_started_from_the_stock_template_name_is_caught_by_the_audit(tmp_path):
    template = mutant(
        tmp_path,
        "            - { Name: CONPOT_TEMPLATE, Value: *persona-dir }",
        "            - { Name: CONPOT_TEMPLATE, Value: default }",
    )
    with LocalCloud(tasks=1, template_path=template) as cloud:
        [task] = cloud.wait_for_running(1)
        assert task.containers.served.stock
        assert cloud.audit_served_template(task).score == 100


def test_a_program_out_of_date_with_conpots_schemas_fails_the_deploy(tmp_path, monkeypatch):
    """The renderer as it was before it met Conpot's http.xsd (two global headers): Conpot refuses
    the template at start, so every task fails and the deployment circuit breaker trips."""
    blob = blob_tool()
    source = (PROJECT_ROOT / "src" / "ics_honeynet" / "conpot_templates.py").read_text()
    fixed = '            <entity name="Date">{modified}</entity>\n        </headers>\n    </global>'
    assert source.count(fixed) == 1
    server = '            <entity name="Server">{escape(persona.http.server)}</entity>\n'
    old = fixed.replace("</entity>\n", "</entity>\n" + server)
    real_source = blob._source

    def stale_source(module: str) -> str:
        text = real_source(module)
        return text.replace(fixed, old) if module.endswith("conpot_templates") else text

    monkeypatch.setattr(blob, "_source", stale_source)
    template = template_copy(tmp_path, blob.embed(TEMPLATE.read_text(), blob.program()))
    expected = r"Essential container in task exited: conpot: conpot: Error parsing XML template: http.xml"
    with pytest.raises(DeployError, match=expected), LocalCloud(tasks=1, template_path=template):
        pass


def test_an_init_container_without_the_persona_volume_fails_the_deploy(tmp_path):
    template = mutant(tmp_path, PERSONA_MOUNT, "")
    expected = r"prepare-volumes \(SUCCESS\), which exited 1"
    with pytest.raises(DeployError, match=expected) as failure, LocalCloud(tasks=1, template_path=template):
        pass
    assert "depends on prepare-volumes" in str(failure.value)


def test_the_init_program_says_why_it_rendered_nothing(tmp_path):
    """What the failed init container printed: its reason, on its console stream (the task's
    stopped reason names only the exit code, as ECS's does)."""
    init = init_container(
        "prepare-volumes",
        "PREPARE_PERSONA",
        PREPARE_PERSONA=blob_tool().program(),
        PERSONA_TEMPLATE="default",
        PERSONA_SEED="",
        PERSONA_DIR="/run/conpot-persona",  # no volume mounted there
    )
    endpoint = TaskMetadataEndpoint()
    try:
        outcome = _start({"containerDefinitions": [init]}, tmp_path / "t1", endpoint)
    finally:
        endpoint.close()
    assert outcome.exit_codes == {"prepare-volumes": 1}
    [line] = outcome.console["prepare-volumes"]
    assert line.startswith("prepare-volumes: no persona rendered: PERSONA_DIR") and "is not a directory" in line


def test_conpot_pointed_at_a_path_nothing_rendered_fails_the_deploy(tmp_path):
    template = mutant(
        tmp_path,
        "            - { Name: CONPOT_TEMPLATE, Value: *persona-dir }",
        "            - { Name: CONPOT_TEMPLATE, Value: /run/conpot-personas }",
    )
    expected = r"Essential container in task exited: conpot: conpot: Template not found: /run/conpot-personas"
    with pytest.raises(DeployError, match=expected), LocalCloud(tasks=1, template_path=template):
        pass


def test_an_init_container_with_too_little_memory_is_killed_and_fails_the_deploy(tmp_path):
    template = mutant(tmp_path, "          Memory: &init-memory 48\n", "          Memory: &init-memory 16\n")
    expected = r"prepare-volumes \(SUCCESS\), which exited 137"
    with pytest.raises(DeployError, match=expected), LocalCloud(tasks=1, template_path=template):
        pass


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        ("type Seed = str", "SyntaxError"),  # Python 3.12 syntax: the image's Python is 3.11
        ("exec(compile('def f[T](x: T) -> T: return x', 'm', 'exec'))", "SyntaxError"),  # what it compiles too
        ("import boto3", "ModuleNotFoundError: No module named 'boto3'"),  # not in the image
        # Paths reach a program through its environment, translated to the task's directories.
        ("import os; open(os.environ['TARGET'], 'w')", "Read-only file system: '/etc/persona.txt'"),
        ("import os; os.mkdir(os.environ['PERSONA'] + '/x')", "Read-only file system: '/run/conpot-persona/x'"),
    ],
)
def test_an_init_program_the_image_could_not_run_fails_its_container(tmp_path, program, reason):
    init = init_container("init", "PROGRAM", PROGRAM=program, TARGET="/etc/persona.txt", PERSONA="/run/conpot-persona")
    init["mountPoints"] = [{"sourceVolume": "persona", "containerPath": "/run/conpot-persona", "readOnly": True}]
    definition = {"containerDefinitions": [init], "volumes": [{"name": "persona"}]}
    unset = {**definition, "containerDefinitions": [{**init, "environment": []}]}
    endpoint = TaskMetadataEndpoint()
    try:
        outcome, fine = (_start(d, tmp_path / task, endpoint) for d, task in ((definition, "t1"), (unset, "t2")))
    finally:
        endpoint.close()
    assert outcome.exit_codes == {"init": 1}
    assert reason in "\n".join(outcome.console["init"])
    assert fine.exit_codes == {"init": 0}  # `python3 -c ""`: sh expands the unset variable to nothing


def _no_logs(_group: str, _stream: str) -> None:
    return None


def init_container(name: str, program_variable: str, **environment: str) -> dict:
    """A root init container of T-Pot's image running ``python3 -c "$<program_variable>"``."""
    return {
        "name": name,
        "image": "ghcr.io/telekom-security/conpot:24.04.1",
        "user": "0",
        "essential": False,
        "memory": 48,
        "readonlyRootFilesystem": True,
        "entryPoint": ["/bin/sh", "-c"],
        "command": [f'python3 -c "${program_variable}"'],
        "environment": [{"name": k, "value": v} for k, v in environment.items()],
    }


def _start(definition: dict, workspace, endpoint: TaskMetadataEndpoint):
    workspace.mkdir()
    host = TaskHost(workspace, f"arn:aws:ecs:us-east-1:123456789012:task/c/{workspace.name}", "f", 1, endpoint)
    return start_task(definition, workspace.name, _no_logs, host)


def test_the_sweep_records_the_persona_each_task_served_and_a_replacement_its_own():
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    from ics_honeynet.exposure_history import IpHistory

    with LocalCloud(rotate_on="fingerprinted") as cloud:  # one honeypot fingerprinted: rotated
        run, report = cloud.sweep()
        assert run.succeeded and [r["status"] for r in report.rotated] == ["ROTATED"]
        items = boto3.client("dynamodb", region_name="us-east-1").scan(
            TableName=cloud.stack.output("ExposureTableName")
        )["Items"]
        deserialize = TypeDeserializer().deserialize
        histories = {h.ip: h for h in (IpHistory.from_item({k: deserialize(v) for k, v in i.items()}) for i in items)}
        tasks = {t.task_arn: t for t in cloud.scheduler.history}
        recorded = {r["ip"]: r for r in cloud.evidence(f"sweeps/{run.name}.json")["results"]}
        for ip, history in histories.items():
            # What the init container printed for this task is what the sweep recorded.
            assert f"persona {history.persona_id} ({history.persona_model}) for task" in console(
                tasks[history.task_arn]
            )
            if ip in recorded:
                assert recorded[ip]["persona"] == {"id": history.persona_id, "model": history.persona_model}
        replacement = histories[report.rotated[0]["to"]]
        assert replacement.template == "default" and replacement.task_arn not in {
            r["taskArn"] for r in recorded.values()
        }
