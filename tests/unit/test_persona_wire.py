"""The audit's parsers take untrusted bytes: they parse or raise WireError, never anything else."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from ics_honeynet.audit import wire

PARSERS = [
    wire.snmp_values, wire.cotp_confirm, wire.szl_answer, wire.modbus_device_id, wire.modbus_slave_id_consistent,
    wire.enip_identity, wire.bacnet_i_am, wire.ipmi_auth_capabilities, wire.http_answer, wire.ftp_reply,
]  # fmt: skip


@settings(max_examples=300, derandomize=True)
@given(st.sampled_from(PARSERS), st.binary(max_size=300))
def test_parsers_raise_only_wire_error(parser, data):
    with contextlib.suppress(wire.WireError):
        parser(data)


@settings(max_examples=200, derandomize=True)
@given(st.sampled_from(PARSERS), st.binary(min_size=1, max_size=40), st.data())
def test_truncated_real_answers_raise_only_wire_error(parser, noise, data):
    # Mutate the start of well-formed answers: the interesting inputs are nearly valid ones.
    real = {
        wire.szl_answer: bytes.fromhex(
            "0300004102f080320700000000000800280001120812840101ff09002400110001001c00010001"
        ),
        wire.enip_identity: bytes.fromhex("63003c00000000000000000000000000000000000000000001000c003600010000"),
        wire.modbus_device_id: bytes.fromhex("000100000022012b0e010100000300075369656d656e73"),
    }.get(parser, wire.snmp_get("public", list(wire.SYSTEM_GROUP)))
    cut = data.draw(st.integers(0, len(real)))
    with contextlib.suppress(wire.WireError):
        parser(real[:cut] + noise)


@given(st.lists(st.integers(0, 2**32), min_size=1, max_size=12))
def test_oid_round_trip(parts):
    oid = ".".join(str(p) for p in [1, 3, *parts])
    tag, content, _ = wire.ber_read(wire.ber_oid(oid))
    assert tag == 0x06 and wire.oid_text(content) == oid


def test_recorded_answers_parse():
    h = bytes.fromhex
    siemens = h("000100000022012b0e010100000300075369656d656e73010753494d41544943020653372d323030")
    assert wire.modbus_device_id(siemens) == {0: "Siemens", 1: "SIMATIC", 2: "S7-200"}
    assert not wire.modbus_slave_id_consistent(h("0002000000060111110101ff"))
    i_am = wire.bacnet_i_am(h("1000c400008d112204009100210f"))
    assert (i_am.instance, i_am.vendor_id, i_am.object_type, i_am.framed) == (36113, 15, 0, False)
    assert wire.cotp_confirm(h("030000130ed00000000000c1020000c2020000")).params == {0xC1: b"\0\0", 0xC2: b"\0\0"}
