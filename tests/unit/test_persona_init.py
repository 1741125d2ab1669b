"""The init container's program: each task's persona rendered from its ARN (or a pinned seed) for
every Conpot template, and packed into template.yaml by tools/persona_blob.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_honeynet import persona_init
from ics_honeynet.audit.assess import Kind, assess
from ics_honeynet.audit.static import audit_template
from ics_honeynet.conpot_defaults import KNOWN_DEFAULTS
from ics_honeynet.conpot_templates import TEMPLATES, prepare_template
from ics_honeynet.persona import STOCK, persona_for, persona_label
from localcloud import conpot_image
from localcloud.task_metadata import TaskMetadataEndpoint

ROOT = Path(__file__).resolve().parents[2]
ARNS = [f"arn:aws:ecs:eu-central-1:123456789012:task/honeynet/{i:032x}" for i in range(6)]


def load_blob_tool():
    spec = importlib.util.spec_from_file_location("persona_blob", ROOT / "tools" / "persona_blob.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


blob = load_blob_tool()


def served_values(directory: Path) -> list[str]:
    """Every text and attribute value in the rendered template's files, databus literals unquoted."""
    values = []
    for path in directory.rglob("*"):
        if path.suffix == ".xml":
            for element in ET.parse(path).iter():
                values += [(element.text or "").strip().strip("'\""), *element.attrib.values()]
        elif path.is_file():
            values += path.read_text().splitlines()
    return [v for v in values if v]


def defaults_in(directory: Path) -> set[str]:
    return {d.value for d in KNOWN_DEFAULTS if not d.genuine for v in served_values(directory) if d.seen_in(v)}


# -- rendering, per template ---------------------------------------------------------------------
@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("seed", ARNS[:3])
def test_every_template_serves_the_persona_and_no_default_survives(tmp_path, template, seed):
    prepare_template(persona_for(seed), template, conpot_image.STOCK_TEMPLATES, tmp_path)
    assert defaults_in(tmp_path) == set()
    conpot_image.validate(tmp_path)  # Conpot's start would accept it
    report = assess(audit_template(tmp_path))
    assert [f for f in report.findings if f.kind is Kind.DEFAULT] == []


def test_the_stock_templates_carry_the_defaults_the_check_looks_for(tmp_path):
    """The control for the test above: unchanged, every stock template serves known defaults."""
    for template in TEMPLATES:
        prepare_template(None, template, conpot_image.STOCK_TEMPLATES, tmp_path / template)
        assert defaults_in(tmp_path / template), template


def test_the_default_template_is_rendered_whole_and_nothing_stock_is_copied(tmp_path):
    seed = next(s for s in ARNS if persona_for(s).bacnet is None)  # a vendor with no BACnet device
    prepare_template(persona_for(seed), "default", conpot_image.STOCK_TEMPLATES, tmp_path)
    assert not (tmp_path / "bacnet").exists() and not (tmp_path / "tftp").exists()
    assert (tmp_path / "cpppo.cfg").is_file()


def test_a_stock_seed_serves_the_stock_template_unchanged(tmp_path):
    prepare_template(None, "kamstrup_382", conpot_image.STOCK_TEMPLATES, tmp_path)
    source = conpot_image.STOCK_TEMPLATES / "kamstrup_382"
    assert {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == {
        p.relative_to(source): p.read_bytes() for p in source.rglob("*") if p.is_file()
    }


def test_two_tasks_differ_in_every_identifying_value_in_every_template(tmp_path):
    for template in TEMPLATES:
        a, b = tmp_path / f"a-{template}", tmp_path / f"b-{template}"
        prepare_template(persona_for(ARNS[0]), template, conpot_image.STOCK_TEMPLATES, a)
        prepare_template(persona_for(ARNS[1]), template, conpot_image.STOCK_TEMPLATES, b)
        stock = set(served_values(conpot_image.STOCK_TEMPLATES / template)) if template != "default" else set()
        ours_a = set(served_values(a)) - stock
        assert ours_a, template
        changed = {v for v in ours_a if len(v) >= 8 and not v.replace(".", "").isdigit()}
        # Per-instance values (names, serials, MACs) are not shared; shared are model-level ones.
        model = persona_for(ARNS[0]).model
        instance = changed - {model.module_type, model.order_number, model.family, model.vendor.name}
        assert instance - set(served_values(b)), template


def test_an_unknown_template_or_a_missing_stock_template_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no stock Conpot template 'proxy'"):
        prepare_template(persona_for("x"), "proxy", conpot_image.STOCK_TEMPLATES, tmp_path)
    with pytest.raises(ValueError, match="no stock Conpot template 'ipmi'"):
        prepare_template(persona_for("x"), "ipmi", tmp_path / "nothing-here", tmp_path)


# -- the task's identity --------------------------------------------------------------------------
@pytest.fixture
def metadata():
    endpoint = TaskMetadataEndpoint()
    yield endpoint
    endpoint.close()


def test_the_task_arn_comes_from_the_metadata_endpoint(metadata):
    uri = metadata.uri_for(ARNS[0], "honeynet-conpot", 3, "prepare-volumes")
    assert persona_init.task_arn(uri) == ARNS[0]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "is not an http URI"),
        ("http://127.0.0.1:9/v4/nothing", "ConnectionRefusedError|URLError"),
    ],
)
def test_a_missing_or_unreachable_endpoint_is_an_error_after_the_retries(uri, message):
    with pytest.raises(persona_init.InitError, match=message):
        persona_init.task_arn(uri, attempts=2, pause=0)


def test_an_endpoint_that_does_not_know_the_container_is_an_error(metadata):
    uri = metadata.uri_for(ARNS[0], "f", 1, "c")
    with pytest.raises(persona_init.InitError, match="HTTPError: HTTP Error 404"):
        persona_init.task_arn(uri + "-not-ours", attempts=1)


def test_main_renders_the_tasks_persona_and_names_it(tmp_path, metadata, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(conpot_image.SITE_PACKAGES))  # the image's conpot package
    env = {
        "PERSONA_TEMPLATE": "default",
        "PERSONA_SEED": "",
        "PERSONA_DIR": str(tmp_path),
        "ECS_CONTAINER_METADATA_URI_V4": metadata.uri_for(ARNS[2], "f", 1, "prepare-volumes"),
    }
    assert persona_init.main(env) == 0
    label = persona_label(ARNS[2], "default")
    assert f"persona {label.id} ({label.model}) for task {ARNS[2]}" in capsys.readouterr().out
    assert persona_for(ARNS[2]).s7.serial_number in (tmp_path / "template.xml").read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PERSONA_TEMPLATE": "proxy"}, "PERSONA_TEMPLATE 'proxy' is not one of default, IEC104"),
        ({"PERSONA_DIR": "relative"}, "PERSONA_DIR 'relative' is not a directory"),
        ({"PERSONA_DIR": "/nonexistent/persona"}, "PERSONA_DIR '/nonexistent/persona' is not a directory"),
        ({"PERSONA_SEED": "", "ECS_CONTAINER_METADATA_URI_V4": ""}, "ECS_CONTAINER_METADATA_URI_V4 is not an http"),
    ],
)
def test_main_says_why_it_rendered_nothing_and_exits_1(tmp_path, capsys, change, message):
    env = {"PERSONA_TEMPLATE": "default", "PERSONA_SEED": "pinned", "PERSONA_DIR": str(tmp_path), **change}
    assert persona_init.main(env) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# -- attribution: the label the sweep records ------------------------------------------------------
@settings(max_examples=50, derandomize=True)
@given(st.text(min_size=1, max_size=60).filter(lambda s: s != STOCK), st.sampled_from(TEMPLATES))
def test_a_label_is_stable_short_and_names_the_device(seed, template):
    label = persona_label(seed, template)
    assert label == persona_label(seed, template)
    assert label.id.startswith("p-") and len(label.id) == 12
    if template == "default":
        persona = persona_for(seed)
        assert persona.model.module_type in label.model and persona.firmware.version in label.model


def test_labels_tell_tasks_apart_and_stock_is_named():
    assert len({persona_label(arn, "default").id for arn in ARNS}) == len(ARNS)
    assert persona_label(STOCK, "ipmi") == persona_label(STOCK, "ipmi")
    assert persona_label(STOCK, "ipmi").id == "stock"


# -- the packed program -----------------------------------------------------------------------------
def test_template_yaml_carries_the_packages_program():
    assert blob.embedded((ROOT / "template.yaml").read_text()) == blob.program()
    assert blob.main(["--check"]) == 0


def test_an_out_of_date_program_fails_the_check(tmp_path, monkeypatch, capsys):
    stale = blob.embed((ROOT / "template.yaml").read_text(), blob.program().replace("b85decode", "b64decode"))
    (tmp_path / "template.yaml").write_text(stale)
    monkeypatch.setattr(blob, "TEMPLATE", tmp_path / "template.yaml")
    assert blob.main(["--check"]) == 1
    assert "is not the package's: run `make persona`" in capsys.readouterr().err


def test_the_program_runs_on_the_images_python_alone(tmp_path):
    """Standard library and the image's conpot package only (python -S, no site-packages)."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", blob.program()],
        env={
            "PERSONA_TEMPLATE": "guardian_ast",
            "PERSONA_SEED": "pinned-1",
            "PERSONA_DIR": str(tmp_path),
            "PYTHONPATH": str(conpot_image.SITE_PACKAGES),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert persona_for("pinned-1").guardian.station_name in (tmp_path / "template.xml").read_text()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import boto3\n", "imports boto3, which is neither the standard library"),
        ("from ics_honeynet.persona_init import main\n", "imports ics_honeynet.persona_init"),
        ("def first[T](items: list[T]) -> T:\n    return items[0]\n", "not Python 3.11 syntax"),
        ("type Seed = str\n", "not Python 3.11 syntax"),
    ],
)
def test_packing_refuses_what_the_image_cannot_run(source, message):
    with pytest.raises(blob.PackError, match=message):
        blob.check_module("ics_honeynet.persona", source)
