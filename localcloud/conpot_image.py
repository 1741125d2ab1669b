"""What Conpot does at start with its template, as far as the stack depends on it.

T-Pot's image runs ``conpot ... --template "$CONPOT_TEMPLATE"`` (shared/reference, "T-Pot's
Conpot"). Conpot (bin/conpot, ``main``):
- takes ``--template`` as a directory when ``<it>/template.xml`` exists, else as the name of one of
  its own templates (``<package>/templates/<name>/template.xml``); otherwise it logs "Template not
  found" and exits 1;
- validates ``template.xml`` and every ``<protocol>/<protocol>.xml`` the directory holds against
  the protocol's XSD, enabled or not, and exits 1 on the first error (``validate_template``). The
  rules below are the schemas' constraints a template of ours could break (conpot/protocols/
  http/http.xsd: exactly one ``entity`` under ``global/headers`` and under each
  ``statuscodes/status``; ftp/ftp.xsd: ``ftp_vfs`` lists at least one ``file`` before its ``dir``s);
  every file must also be well-formed XML.
- cpppo, which serves EtherNet/IP, reads its identity from ``cpppo.cfg`` in the working directory.

``IMAGE`` is the image's Python path as the local cloud knows it (localcloud/images/conpot).
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from localcloud.constants import PROJECT_ROOT

IMAGE = PROJECT_ROOT / "localcloud" / "images" / "conpot"
SITE_PACKAGES = IMAGE / "site-packages"
STOCK_TEMPLATES = SITE_PACKAGES / "conpot" / "templates"
PYTHON = (3, 11)  # T-Pot's 24.04.1 image: Alpine 3.19 (Python 3.11), rebuilt on 3.23 (3.12) since
PROTOCOLS = (
    "s7comm", "modbus", "snmp", "http", "ftp", "enip", "bacnet", "ipmi", "tftp", "IEC104", "guardian_ast",
    "kamstrup_meter", "kamstrup_management", "proxy",
)  # fmt: skip


@dataclass(frozen=True)
class ServedTemplate:
    """What a started Conpot serves: its template directory and its working directory (host paths)."""

    argument: str  # --template as given
    directory: Path
    working_directory: Path | None  # None: not on a volume (the image's root: no cpppo.cfg there)

    @property
    def stock(self) -> bool:
        return self.directory.is_relative_to(STOCK_TEMPLATES)


class ConpotExited(Exception):
    """Conpot logged this and exited 1."""


def resolve_template(argument: str, host_path: Path | None) -> Path:
    """The template directory ``--template argument`` names (``host_path``: where the argument's
    path is on the host, when it lies on one of the container's volumes)."""
    if host_path is not None and (host_path / "template.xml").is_file():
        return host_path
    if argument and "/" not in argument and (STOCK_TEMPLATES / argument / "template.xml").is_file():
        return STOCK_TEMPLATES / argument
    raise ConpotExited(f"Template not found: {argument}")


def validate(directory: Path) -> None:
    """Conpot's validation of the template's files, as far as known (module docstring)."""
    for path in [directory / "template.xml", *(directory / p / f"{p}.xml" for p in PROTOCOLS)]:
        if not path.is_file():
            continue
        try:
            root = ET.parse(path).getroot()  # noqa: S314 -- files of the local run's own task
        except ET.ParseError as error:
            raise ConpotExited(f"Error parsing XML template: {posixpath.relpath(path, directory)}: {error}") from None
        problem = _schema_problem(path.stem, root)
        if problem:
            raise ConpotExited(f"Error parsing XML template: {path.stem}.xml: {problem}")


def _schema_problem(protocol: str, root: ET.Element) -> str | None:
    if protocol == "http":
        for headers in root.iterfind("./global/headers"):
            if len(headers.findall("entity")) != 1:
                return "Element 'entity': global/headers holds exactly one entity (http.xsd)"
        for status in root.iterfind("./statuscodes/status"):
            if len(status.findall("entity")) != 1:
                return "Element 'entity': each statuscodes/status holds exactly one entity (http.xsd)"
    if protocol == "ftp":
        for vfs in root.iterfind("./ftp_vfs"):
            tags = [child.tag for child in vfs if child.tag in ("file", "dir")]
            if tags and (tags[0] != "file" or tags != sorted(tags, key=lambda tag: tag == "dir")):
                return "Element 'dir': This element is not expected. Expected is ( file ). (ftp.xsd)"
    return None
