"""What Lambda can import for a function (localcloud/lambda_imports.py): the third-party imports
of the handler's module graph against its CodeUri's requirements, its layers' and the runtime's."""

from __future__ import annotations

from pathlib import Path

from localcloud.constants import PROJECT_ROOT
from localcloud.lambda_imports import (
    LAMBDA_UNZIPPED_LIMIT,
    import_error,
    installed_with,
    missing_imports,
    requirement_names,
    third_party_imports,
    unzipped_size,
)

SRC = PROJECT_ROOT / "src"
HANDLERS = sorted(p.stem for p in (SRC / "ics_honeynet" / "handlers").glob("*.py") if p.stem != "__init__")


def package(tmp_path: Path, files: dict[str, str], requirements: str = "") -> Path:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "pkg" / "__init__.py").touch()
    (tmp_path / "requirements.txt").write_text(requirements)
    return tmp_path


def test_every_handler_imports_only_what_its_package_and_layers_install():
    layers = {"weekly_report": [PROJECT_ROOT / "layers" / "report-chart"]}
    for name in HANDLERS:
        handler = f"ics_honeynet.handlers.{name}.lambda_handler"
        assert missing_imports(handler, SRC, layers.get(name, [])) == [], name
    # The report's chart needs the layer, at init (the handler imports the chart module).
    [missing] = missing_imports("ics_honeynet.handlers.weekly_report.lambda_handler", SRC, [])
    assert (missing.module, missing.imported_by, missing.at_init) == ("matplotlib", "ics_honeynet.research.chart", True)


def test_imports_are_read_at_init_inside_functions_and_not_under_type_checking(tmp_path):
    code = package(tmp_path, {
        "handler.py": "import yaml\nfrom pkg import lazy\nfrom typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    import hypothesis\ndef lambda_handler(e, c):\n    return lazy.go()\n",
        "lazy.py": "def go():\n    import matplotlib\n    return matplotlib\n",
    }, requirements="PyYAML==6.0.4\n")  # fmt: skip
    found = third_party_imports("pkg.handler.lambda_handler", code)
    assert {k: v.at_init for k, v in found.items()} == {"yaml": True, "matplotlib": False}
    [missing] = missing_imports("pkg.handler.lambda_handler", code, [])
    assert import_error("pkg.handler.lambda_handler", [missing]) == (
        "ModuleNotFoundError",
        "No module named 'matplotlib'",
    )


def test_a_module_level_import_nothing_installs_fails_the_cold_start(tmp_path):
    code = package(tmp_path, {"handler.py": "import shodan\nimport boto3\n"})
    [missing] = missing_imports("pkg.handler.lambda_handler", code, [])  # boto3 comes with the runtime
    assert import_error("pkg.handler.lambda_handler", [missing]) == (
        "Runtime.ImportModuleError",
        "Unable to import module 'pkg.handler': No module named 'shodan'",
    )
    assert "requests" in installed_with(["shodan"])  # a requirement brings its dependencies


def test_the_report_function_and_its_layer_fit_lambdas_unzipped_limit_and_the_others_did_not_grow():
    layer = PROJECT_ROOT / "layers" / "report-chart"
    with_layer = unzipped_size(SRC, [layer])
    assert sum(with_layer.values()) < LAMBDA_UNZIPPED_LIMIT  # ~167 MiB: the package ~15, the layer ~153
    # The sweep's functions: the package alone, without any plotting library.
    alone = unzipped_size(SRC, [])
    assert alone == {"package": with_layer["package"]} and alone["package"] < 30 * 1024 * 1024
    assert "matplotlib" not in installed_with(requirement_names(SRC / "requirements.txt"))
