"""Personas: deterministic, distinct per seed, internally consistent, free of Conpot defaults."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ics_honeynet.conpot_defaults import KNOWN_DEFAULTS
from ics_honeynet.persona import CATALOGUE, Persona, Protocol, persona_for

seeds = st.text(min_size=1, max_size=80)


def _all_text(persona: Persona) -> list[str]:
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, int | date):
            out.append(str(value))
        elif isinstance(value, tuple | list | frozenset):
            for item in value:
                walk(item)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                if name not in ("seed", "firmware") or value is not persona:
                    walk(getattr(value, name))

    walk(persona)
    return out


@settings(max_examples=60, derandomize=True)
@given(seeds)
def test_same_seed_same_persona(seed):
    assert persona_for(seed) == persona_for(seed)


@settings(max_examples=60, derandomize=True)
@given(seeds, seeds)
def test_two_seeds_share_no_identifying_value(a, b):
    if a == b:
        return
    first, second = persona_for(a).identifying_values(), persona_for(b).identifying_values()
    shared = {k for k in first if first[k] and first[k] == second[k]}
    assert not shared, (a, b, shared)


@settings(max_examples=80, derandomize=True)
@given(seeds)
def test_persona_is_internally_consistent(seed):
    p = persona_for(seed)
    vendor = p.vendor
    assert p.model in CATALOGUE and p.firmware in p.model.firmware
    assert p.enip.vendor_id == vendor.cip_vendor_id
    assert p.snmp.sys_object_id.startswith(f"1.3.6.1.4.1.{vendor.snmp_enterprise}.")
    assert p.modbus.vendor_name == vendor.name and p.modbus.revision == p.firmware.version
    assert p.bacnet is None or p.bacnet.vendor_id == vendor.bacnet_vendor_id
    assert p.mac_address[:8] in vendor.ouis and p.kamstrup.mac_address.startswith("00:13:EA:")
    assert p.kamstrup.mac_address != "00:13:EA:00:00:00"
    assert p.firmware.released <= p.http.last_modified <= date.today()
    assert p.s7.order_number == p.model.order_number and p.s7.module_type_name == p.model.module_type
    assert p.firmware.version in p.snmp.sys_descr
    if p.model.serial_style == "siemens":
        assert p.s7.serial_number.startswith("S C-") and p.s7.serial_number.endswith(str(p.http.last_modified.year))
    # The S7 SZL fields' widths (Conpot packs 24/32-byte fields; longer values would be cut).
    assert len(p.s7.system_name) <= 24 and len(p.s7.module_name) <= 24 and len(p.s7.serial_number) <= 24
    assert len(p.s7.plant_identification) <= 32 and len(p.s7.location) <= 32
    assert Protocol.FTP not in p.services  # Conpot's FTP greets with code 200 whatever the template


@settings(max_examples=80, derandomize=True)
@given(seeds)
def test_no_conpot_default_survives(seed):
    texts = _all_text(persona_for(seed))
    for known in KNOWN_DEFAULTS:
        if known.genuine:
            continue
        assert not any(known.seen_in(t) for t in texts), known


def test_every_catalogue_model_is_reachable_and_firmware_is_past():
    models = {persona_for(f"seed-{i}").model for i in range(400)}
    assert models == set(CATALOGUE)
    for model in CATALOGUE:
        assert model.vendor.name and all(f.released < date.today() for f in model.firmware)


def test_empty_seed_is_refused():
    import pytest

    with pytest.raises(ValueError, match="non-empty seed"):
        persona_for("")
