"""The probes' bytes: requests scanners send and parsers of the answers, pure (no sockets).

Every parser takes the bytes a peer sent and either returns what they say or raises ``WireError``:
an answer is untrusted input, so nothing else may escape (property-tested over arbitrary bytes).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


class WireError(ValueError):
    """An answer that is not what the protocol says it must be."""


def _need(data: bytes, size: int, what: str) -> None:
    if len(data) < size:
        raise WireError(f"{what}: {len(data)} bytes, need {size}")


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


# ------------------------------------------------------------------------------------------------
# BER (SNMP)
# ------------------------------------------------------------------------------------------------
def ber(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def ber_int(value: int) -> bytes:
    return ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def ber_oid(oid: str) -> bytes:
    parts = [int(p) for p in oid.split(".")]
    if len(parts) < 2:
        raise ValueError(f"not an OID: {oid}")
    out = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        out += bytes(reversed(chunk))
    return ber(0x06, bytes(out))


def ber_read(data: bytes, at: int = 0) -> tuple[int, bytes, int]:
    """One TLV at ``at``: (tag, content, offset after it)."""
    _need(data, at + 2, "BER header")
    tag, first = data[at], data[at + 1]
    at += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise WireError(f"BER length of {count} bytes")
        _need(data, at + count, "BER length")
        size = int.from_bytes(data[at : at + count], "big")
        at += count
    else:
        size = first
    _need(data, at + size, "BER content")
    return tag, data[at : at + size], at + size


def ber_children(content: bytes) -> list[tuple[int, bytes]]:
    out, at = [], 0
    while at < len(content):
        tag, value, at = ber_read(content, at)
        out.append((tag, value))
    return out


def oid_text(content: bytes) -> str:
    if not content:
        raise WireError("empty OID")
    first = content[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in content[1:]:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if content[-1] & 0x80:
        raise WireError("truncated OID")
    return ".".join(str(p) for p in parts)


SYSTEM_GROUP = {
    "1.3.6.1.2.1.1.1.0": "sysDescr",
    "1.3.6.1.2.1.1.2.0": "sysObjectID",
    "1.3.6.1.2.1.1.4.0": "sysContact",
    "1.3.6.1.2.1.1.5.0": "sysName",
    "1.3.6.1.2.1.1.6.0": "sysLocation",
    "1.3.6.1.2.1.1.7.0": "sysServices",
}


def snmp_get(community: str, oids: list[str], version: int = 1, request_id: int = 0x1C5) -> bytes:
    """GetRequest; ``version`` 0 = v1, 1 = v2c."""
    binds = b"".join(ber(0x30, ber_oid(oid) + b"\x05\x00") for oid in oids)
    pdu = ber(0xA0, ber_int(request_id) + ber_int(0) + ber_int(0) + ber(0x30, binds))
    return ber(0x30, ber_int(version) + ber(0x04, community.encode()) + pdu)


def snmp_values(message: bytes) -> dict[str, str]:
    """OID -> value (text) of a GetResponse; exceptions (noSuchObject, ...) are left out."""
    tag, content, _ = ber_read(message)
    if tag != 0x30:
        raise WireError(f"SNMP message tag {tag:#x}")
    parts = ber_children(content)
    if len(parts) != 3 or parts[2][0] != 0xA2:
        raise WireError("not an SNMP GetResponse")
    pdu = ber_children(parts[2][1])
    if len(pdu) != 4 or pdu[3][0] != 0x30:
        raise WireError("malformed SNMP PDU")
    out = {}
    for bind_tag, bind in ber_children(pdu[3][1]):
        items = ber_children(bind)
        if bind_tag != 0x30 or len(items) != 2 or items[0][0] != 0x06:
            raise WireError("malformed SNMP varbind")
        oid = oid_text(items[0][1])
        kind, raw = items[1]
        if kind == 0x04:
            out[oid] = raw.decode("latin-1")
        elif kind in (0x02, 0x41, 0x42, 0x43):
            out[oid] = str(int.from_bytes(raw, "big", signed=kind == 0x02))
        elif kind == 0x06:
            out[oid] = oid_text(raw)
    return out


# ------------------------------------------------------------------------------------------------
# S7comm (ISO-TSAP: TPKT + COTP)
# ------------------------------------------------------------------------------------------------
COTP_CONNECT = bytes.fromhex("0300001611e00000001400c1020100c2020102c0010a")
S7_SETUP = bytes.fromhex("0300001902f08032010000000000080000f0000001000101e0")


def szl_request(szl_id: int, index: int) -> bytes:
    return bytes.fromhex("0300002102f080320700000000000800080001120411440100ff090004") + struct.pack(
        ">HH", szl_id, index
    )


def tpkt_payload(frame: bytes) -> bytes:
    _need(frame, 4, "TPKT")
    if frame[0] != 3:
        raise WireError(f"TPKT version {frame[0]}")
    size = struct.unpack(">H", frame[2:4])[0]
    if size < 4 or size > len(frame):
        raise WireError(f"TPKT length {size} for {len(frame)} bytes")
    return frame[4:size]


@dataclass(frozen=True)
class CotpConfirm:
    dst_ref: int
    src_ref: int
    params: dict[int, bytes]


def cotp_confirm(frame: bytes) -> CotpConfirm:
    cotp = tpkt_payload(frame)
    _need(cotp, 7, "COTP CC")
    if cotp[1] & 0xF0 != 0xD0:
        raise WireError(f"COTP type {cotp[1]:#x}, not a connection confirm")
    end = min(len(cotp), cotp[0] + 1)
    dst, src = struct.unpack(">HH", cotp[2:6])
    params, at = {}, 7
    while at + 2 <= end:
        code, size = cotp[at], cotp[at + 1]
        params[code] = cotp[at + 2 : at + 2 + size]
        at += 2 + size
    return CotpConfirm(dst, src, params)


@dataclass(frozen=True)
class SzlAnswer:
    szl_id: int
    index: int
    records: tuple[bytes, ...]


def szl_answer(frame: bytes) -> SzlAnswer:
    cotp = tpkt_payload(frame)
    _need(cotp, 3, "COTP DT")
    s7 = cotp[cotp[0] + 1 :]
    _need(s7, 10, "S7 header")
    if s7[0] != 0x32 or s7[1] != 0x07:
        raise WireError(f"S7 header {s7[:2].hex()}, not userdata")
    param_len, data_len = struct.unpack(">HH", s7[6:10])
    data = s7[10 + param_len : 10 + param_len + data_len]
    _need(data, 4, "SZL data")
    if data[0] != 0xFF:
        raise WireError(f"SZL return code {data[0]:#x}")
    _need(data, 12, "SZL header")
    szl_id, index, size, count = struct.unpack(">HHHH", data[4:12])
    body = data[12:]
    if size == 0 or size * count > len(body):
        raise WireError(f"SZL {count} records of {size} bytes in {len(body)}")
    return SzlAnswer(szl_id, index, tuple(body[i * size : (i + 1) * size] for i in range(count)))


def szl_texts(answer: SzlAnswer) -> dict[int, str]:
    """Record index -> text (SZL 0x001C items, 0x0011 order numbers)."""
    out = {}
    for record in answer.records:
        if len(record) >= 2:
            out[struct.unpack(">H", record[:2])[0]] = _text(record[2:34] if answer.szl_id == 0x1C else record[2:22])
    return out


# ------------------------------------------------------------------------------------------------
# Modbus/TCP
# ------------------------------------------------------------------------------------------------
def modbus_device_id_request(unit: int) -> bytes:
    return bytes.fromhex("000100000005") + bytes((unit,)) + bytes.fromhex("2b0e0100")


MODBUS_REPORT_SLAVE_ID = bytes.fromhex("0002000000020111")


def _mbap(frame: bytes) -> bytes:
    _need(frame, 8, "MBAP")
    size = struct.unpack(">H", frame[4:6])[0]
    if size < 2 or 6 + size > len(frame):
        raise WireError(f"MBAP length {size} for {len(frame)} bytes")
    return frame[7 : 6 + size]


def modbus_device_id(frame: bytes) -> dict[int, str]:
    """Object id -> text; a Modbus exception raises WireError naming its code."""
    pdu = _mbap(frame)
    if pdu[0] == 0xAB:
        raise WireError(f"Modbus exception {pdu[1] if len(pdu) > 1 else '?'}")
    _need(pdu, 7, "MEI answer")
    if pdu[0] != 0x2B or pdu[1] != 0x0E:
        raise WireError(f"Modbus function {pdu[0]:#x}/{pdu[1]:#x}")
    count, at, out = pdu[6], 7, {}
    for _ in range(count):
        _need(pdu, at + 2, "MEI object")
        obj, size = pdu[at], pdu[at + 1]
        _need(pdu, at + 2 + size, "MEI object value")
        out[obj] = pdu[at + 2 : at + 2 + size].decode("latin-1")
        at += 2 + size
    return out


def modbus_slave_id_consistent(frame: bytes) -> bool:
    """Whether a Report Slave ID answer's byte count matches the bytes it carries."""
    pdu = _mbap(frame)
    _need(pdu, 2, "Report Slave ID")
    if pdu[0] & 0x80:
        return True  # an exception answer is a well-formed answer
    return pdu[1] == len(pdu) - 2


# ------------------------------------------------------------------------------------------------
# EtherNet/IP
# ------------------------------------------------------------------------------------------------
ENIP_LIST_IDENTITY = bytes.fromhex("6300") + bytes(22)


@dataclass(frozen=True)
class EnipIdentityAnswer:
    vendor_id: int
    device_type: int
    product_code: int
    revision: str
    status: int
    serial: int
    product_name: str
    state: int
    address: str


def enip_identity(frame: bytes) -> EnipIdentityAnswer:
    _need(frame, 26, "ENIP header")
    command, length = struct.unpack("<HH", frame[:4])
    if command != 0x63:
        raise WireError(f"ENIP command {command:#x}")
    body = frame[24 : 24 + length]
    _need(body, 2 + 4 + 2 + 16 + 14 + 1, "ListIdentity item")
    if struct.unpack("<H", body[2:4])[0] != 0x0C:
        raise WireError("ListIdentity item is not an identity")
    address = ".".join(str(b) for b in body[12:16])
    item = body[24:]
    vendor, device, product, major, minor, status, serial = struct.unpack("<HHHBBHI", item[:14])
    size = item[14]
    _need(item, 15 + size + 1, "ListIdentity product name")
    name = item[15 : 15 + size].decode("latin-1")
    return EnipIdentityAnswer(
        vendor, device, product, f"{major}.{minor}", status, serial, name, item[15 + size], address
    )


# ------------------------------------------------------------------------------------------------
# BACnet/IP
# ------------------------------------------------------------------------------------------------
BACNET_WHO_IS = bytes.fromhex("810a000801001008")
BACNET_BARE_WHO_IS = bytes.fromhex("1008")  # no BVLC/NPDU: only Conpot answers it


@dataclass(frozen=True)
class IAm:
    object_type: int
    instance: int
    vendor_id: int
    framed: bool  # with BVLC + NPDU, as BACnet/IP requires


def bacnet_i_am(datagram: bytes) -> IAm:
    framed = datagram[:1] == b"\x81"
    apdu = datagram
    if framed:
        _need(datagram, 6, "BVLC/NPDU")
        control = datagram[5]
        at = 6
        if control & 0x20:  # destination specifier
            _need(datagram, at + 3, "NPDU destination")
            at += 3 + datagram[at + 2] + 1
        if control & 0x08:  # source specifier
            _need(datagram, at + 3, "NPDU source")
            at += 3 + datagram[at + 2]
        apdu = datagram[at:]
    _need(apdu, 2, "APDU")
    if apdu[0] != 0x10 or apdu[1] != 0x00:
        raise WireError(f"APDU {apdu[:2].hex()}, not an I-Am")
    _need(apdu, 7, "I-Am object identifier")
    if apdu[2] != 0xC4:
        raise WireError("I-Am without an object identifier")
    ident = struct.unpack(">I", apdu[3:7])[0]
    at, values = 7, list[int]()
    while at < len(apdu) and len(values) < 3:
        size = apdu[at] & 0x07
        _need(apdu, at + 1 + size, "I-Am value")
        values.append(int.from_bytes(apdu[at + 1 : at + 1 + size], "big"))
        at += 1 + size
    if len(values) < 3:
        raise WireError("I-Am without a vendor id")
    return IAm(ident >> 22, ident & 0x3FFFFF, values[2], framed)


# ------------------------------------------------------------------------------------------------
# IPMI (RMCP)
# ------------------------------------------------------------------------------------------------
IPMI_AUTH_CAPABILITIES = bytes.fromhex("0600ff07000000000000000000092018c88100388e04b5")


def ipmi_auth_capabilities(datagram: bytes) -> bytes:
    """The Get Channel Authentication Capabilities answer's data (after the completion code)."""
    _need(datagram, 14, "RMCP/IPMI header")
    if datagram[0] != 0x06 or datagram[3] != 0x07:
        raise WireError("not an RMCP IPMI message")
    message = datagram[14 : 14 + datagram[13]]
    _need(message, 8, "IPMI message")
    if message[5] != 0x38:
        raise WireError(f"IPMI command {message[5]:#x}")
    if message[6] != 0:
        raise WireError(f"IPMI completion code {message[6]:#x}")
    return message[7:-1]


# ------------------------------------------------------------------------------------------------
# HTTP, FTP
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: str


def http_request(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0\r\nConnection: close\r\n\r\n".encode()


def http_answer(raw: bytes) -> HttpAnswer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise WireError(f"not an HTTP status line: {lines[0][:60]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return HttpAnswer(int(parts[1]), headers, body.decode("latin-1"))


def ftp_reply(line: bytes) -> tuple[int, str]:
    text = line.decode("latin-1").strip()
    if len(text) < 3 or not text[:3].isdigit():
        raise WireError(f"not an FTP reply: {text[:60]!r}")
    return int(text[:3]), text[4:]
