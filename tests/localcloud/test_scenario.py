"""Scenario files: checked against one schema, every bad value named by file, entry and field."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from localcloud.__main__ import main
from localcloud.report import SweepReport
from localcloud.scenario import DEFAULT_PORTS, ScenarioError, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def profile(**fields: object) -> dict:
    return {"honeypots": [{"name": "plc", **fields}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (profile(tags="honeypot"), "f.yaml: honeypots[0] (plc).tags: expected a list of strings, e.g. [honeypot, ics], "
         "got 'honeypot'"),
        (profile(ports="80"), "f.yaml: honeypots[0] (plc).ports: expected a list of ports (whole numbers 1-65535), "
         "e.g. [80, 502], got '80'"),
        (profile(ports=[80, 70000]), "f.yaml: honeypots[0] (plc).ports[1]: expected a whole number from 1 to 65535, "
         "got 70000"),
        (profile(ports=[True]), "f.yaml: honeypots[0] (plc).ports[0]: expected a whole number from 1 to 65535, "
         "got True"),
        (profile(honeyscore="high"), "f.yaml: honeypots[0] (plc).honeyscore: expected a number from 0 to 1, "
         "got 'high'"),
        (profile(honeyscore=1.5), "f.yaml: honeypots[0] (plc).honeyscore: expected a number from 0 to 1, got 1.5"),
        (profile(shodan="indexd"), "f.yaml: honeypots[0] (plc).shodan: expected one of not_indexed, indexed, "
         "fingerprinted, stale, got 'indexd'"),
        (profile(color="red"), "f.yaml: honeypots[0] (plc): unknown field(s) color; known: name, shodan, ports, tags, "
         "honeyscore, org, banner_age_hours, indexed_after_minutes, internetdb_after_minutes, censys_after_minutes, "
         "censys_labels, indexed_after_hours, fingerprinted_after_hours, attacks_per_hour"),
        (profile(shodan="stale", banner_age_hours=3), "f.yaml: honeypots[0] (plc).banner_age_hours: a stale "
         "profile's banners predate the task (negative hours)"),
        ({"honeypots": "indexed"}, "f.yaml: honeypots: expected a list of profiles, got 'indexed'"),
        (profile(internetdb_after_minutes=-1), "f.yaml: honeypots[0] (plc).internetdb_after_minutes: expected a "
         "number of at least 0, got -1"),
        (profile(censys_after_minutes=-1), "f.yaml: honeypots[0] (plc).censys_after_minutes: expected a "
         "number of at least 0, got -1"),
        ({"censys": {"token": 7}}, "f.yaml.censys.token: expected a string, got 7"),
        ({"replacements": [7]}, "f.yaml: replacements[0]: expected a profile (a mapping, or one of not_indexed, "
         "indexed, fingerprinted, stale), got 7"),
        ({"shodan": {"rate_limit_per_s": -1}}, "f.yaml.shodan.rate_limit_per_s: expected a number of at least 0, "
         "got -1"),
        ({"run": {"rotate_on": "always"}}, "f.yaml.run.rotate_on: expected one of never, indexed, fingerprinted, "
         "got 'always'"),
        ({"run": {"tasks": 2.5}}, "f.yaml.run.tasks: expected a whole number of at least 0, got 2.5"),
        ({"run": {"time_scale": 0}}, "f.yaml.run.time_scale: expected a number of at least 1e-06, got 0"),
        ({"run": {"parameters": {"MapConcurrency": [3]}}}, "f.yaml.run.parameters.MapConcurrency: expected a string "
         "or a number, got [3]"),
        ({"extra_ips": [{"ip": "10.0.0.300"}]}, "f.yaml: extra_ips[0].ip: '10.0.0.300' is not an IP address"),
        ({"honeypot": []}, "f.yaml: unknown field(s) honeypot; known: description, shodan, censys, run, report, "
         "honeypots, replacements, default_replacement, extra_ips"),
        (profile(shodan="indexed", indexed_after_hours=6), "f.yaml: honeypots[0] (plc): indexed_after_hours/"
         "fingerprinted_after_hours need shodan: not_indexed first"),
        (profile(indexed_after_hours=12, fingerprinted_after_hours=6), "f.yaml: honeypots[0] (plc)."
         "fingerprinted_after_hours: before indexed_after_hours (tagged means indexed)"),
        ({"report": {"hours": 6}}, "f.yaml.report.hours: expected a whole number from 12 to 720, got 6"),
        ({"report": {"effect_indexed": 0}}, "f.yaml.report.effect_indexed: expected a number from 0.01 to 100, got 0"),
    ],
)  # fmt: skip
def test_each_bad_value_is_named_by_file_entry_and_field(data, message):
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(data, "f.yaml")
    assert str(raised.value) == message


def test_a_valid_profile_keeps_its_types_and_defaults():
    scenario = parse_scenario(
        {"run": {"rotate_on": "indexed", "tasks": 2, "parameters": {"MapConcurrency": 3}},
         "honeypots": [{"name": "plc", "shodan": "indexed", "ports": [502, 80], "tags": ["ics"], "honeyscore": 0}]},
        "f.yaml",
    )  # fmt: skip
    [plc] = scenario.honeypots
    assert (plc.name, plc.kind, plc.ports, plc.tags, plc.honeyscore) == ("plc", "indexed", (502, 80), ("ics",), 0.0)
    assert (scenario.rotate_on, scenario.tasks, scenario.parameters) == ("indexed", 2, {"MapConcurrency": "3"})
    assert scenario.default_replacement.ports == DEFAULT_PORTS and scenario.time_scale is None


def test_the_cli_rejects_a_bad_scenario_with_exit_2_and_no_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("honeypots:\n  - name: plc\n    shodan: indexed\n    ports: '80'\n")
    assert main(["run", "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: {bad}: honeypots[0] (plc).ports: expected a list of ports (whole numbers 1-65535), "
        "e.g. [80, 502], got '80'\n"
    )
    assert main(["run", "--scenario", str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err == f"error: scenario file not found: {tmp_path / 'missing.yaml'}\n"


@pytest.mark.parametrize("value", ["0", "-1", "nan", "abc"])
def test_the_cli_rejects_a_time_scale_that_is_not_above_zero(value, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["run", f"--time-scale={value}"])
    assert exited.value.code == 2
    assert "error: argument --time-scale: " in capsys.readouterr().err


def test_the_cli_help_has_no_restructuredtext_and_documents_every_scenario_field(capsys):
    for argv in (["--help"], ["run", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        text = capsys.readouterr().out
        assert "``" not in text and "`" not in text
    for field in ("rotate_on", "time_scale", "parameters", "banner_age_hours", "honeyscore", "extra_ips"):
        assert f"{field}: " in text


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_scenario_file_is_valid_and_explains_the_fields_it_uses(path):
    load_scenario(path)
    text = path.read_text()
    comments = " ".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    data = yaml.safe_load(text)
    used = set(data)
    for key in ("shodan", "run", "report"):
        used |= set(data.get(key) or {})
    for key in ("honeypots", "replacements", "extra_ips"):
        used |= {field for entry in data.get(key) or [] if isinstance(entry, dict) for field in entry}
    entry = data.get("default_replacement")
    used |= set(entry) if isinstance(entry, dict) else set()
    used -= {"shodan"}  # the profile kind, explained by its value
    missing = sorted(key for key in used if not re.search(rf"\b{re.escape(key)}\b", comments))
    assert missing == [], f"{path.name} does not explain {missing}"
    assert "make run ARGS=" in comments or "make report" in comments or path.name == "default.yaml"


def test_a_failed_sweeps_report_does_not_say_no_honeypot_was_running():
    report = SweepReport(status="FAILED", execution_arn="arn", checked=[], s3_keys=[], emails=[], rotated=[],
                         running=3, shodan_answers={401: 1})  # fmt: skip
    lines = list(report.render())
    assert lines[:3] == [
        "IPs checked:",
        "  (none: 3 honeypot(s) RUNNING, but the sweep FAILED before any IP was checked)",
        "Shodan requests (1): 1 x 401",
    ]
    quiet = SweepReport(status="SUCCEEDED", execution_arn="arn", checked=[], s3_keys=[], emails=[], rotated=[])
    assert list(quiet.render())[1] == "  (none: no RUNNING honeypot with a public IP)"


def test_make_help_says_how_to_pass_options():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(["make", "-s", "help"], cwd=root, capture_output=True, text=True, check=True).stdout
    assert 'ARGS="..." passes options, e.g. make run ARGS="--scenario scenarios/recycled-ip.yaml --json"' in out
    assert "make run ARGS=--help" in out


def test_experiment_mode_is_a_flag_of_the_run_and_scans_have_their_credits_and_delay():
    scenario = parse_scenario(
        {"run": {"experiment": True}, "shodan": {"scan_credits": 3, "scan_delay_minutes": 20}, "honeypots": []}
    )
    assert scenario.experiment is True and (scenario.shodan.scan_credits, scenario.shodan.scan_delay_minutes) == (3, 20)
    assert parse_scenario({"honeypots": []}).experiment is False
    with pytest.raises(ScenarioError, match=r"run.experiment: expected true or false, got 'on'"):
        parse_scenario({"run": {"experiment": "on"}})
    with pytest.raises(ScenarioError, match=r"shodan.scan_credits: expected a whole number"):
        parse_scenario({"shodan": {"scan_credits": -1}})
