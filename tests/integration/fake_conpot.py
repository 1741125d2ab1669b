"""A fake honeypot for the audit's tests: threads and sockets on 127.0.0.1, free ports only.

``recorded()`` replays what an unmodified Conpot answered (../shared/reference/recorded-conpot-answers.md),
byte for byte where the reference gives bytes. ``device()`` answers as a real device with a persona
would. Each handler is a function of the request bytes, so tests can also serve short, malformed or
no answers.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate

from ics_honeynet.audit import wire
from ics_honeynet.conpot_templates import http_date
from ics_honeynet.persona import Persona

Answer = Callable[[bytes], bytes | None]
h = bytes.fromhex

# ---- recorded default Conpot (reference) ----
REC_COTP_CC = h("030000130ed00000000000c1020000c2020000")
REC_SETUP = h("0300001b02f080320300000000000800000000f0000001000101e0")
REC_SZL_11 = h(
    "0300004102f080320700000000000800280001120812840101ff09002400110001001c000100010000000000000000000000000000000000000000000000000000"
)
REC_SZL_1C = h(
    "0300013502f0803207000000000008011c0001120812840101ff090118001c0001002200080001546563686e6f64726f6d65"
    "00000000000000000000000000000000000000000000025369656d656e732c2053494d415449432c2053372d32303000000000"
    "0000000000034d6f7573657220466163746f727900000000000000000000000000000000000000044f726967696e616c20536965"
    "6d656e732045717569706d656e74000000000000000538383131313232320000000000000000000000000000000000000000000000"
    "000007494d3135312d3820504e2f445020435055000000000000000000000000000000000a00000000000000000000000000000000"
    "00000000000000000000000000000000000b0000000000000000000000000000000000000000000000000000000000000000"
)
REC_MODBUS_UNIT1 = h("000100000022012b0e010100000300075369656d656e73010753494d41544943020653372d323030")
REC_MODBUS_UNIT255 = h("000100000003ffab04")
REC_SLAVE_ID = h("0002000000060111110101ff")
REC_ENIP = h(
    "63003c00000000000000000000000000000000000000000001000c00360001000002af1200000000000000000000000001000e"
    "003600140b60311a066c0014313735362d4c36312f42204c4f47495835353631ff"
)
REC_IPMI = h("0600ff0700000000000000000010811c6320003800018004020000000021")
REC_BACNET_BARE_I_AM = h("1000c400008d112204009100210f")
REC_SNMP = {
    "1.3.6.1.2.1.1.1.0": (0x04, "Siemens, SIMATIC, S7-200"),
    "1.3.6.1.2.1.1.2.0": (0x06, "1.3.6.1.4.1.20408"),
    "1.3.6.1.2.1.1.4.0": (0x04, "Siemens AG"),
    "1.3.6.1.2.1.1.5.0": (0x04, "CP 443-1 EX40"),
    "1.3.6.1.2.1.1.6.0": (0x04, "Venus"),
    "1.3.6.1.2.1.1.7.0": (0x02, "72"),
}
REC_INDEX = (
    "<HTML><HEAD><TITLE>Overview - Siemens, SIMATIC, S7-200</TITLE></HEAD><BODY><h2>Technodrome</h2><hr></BODY></HTML>"
)


def snmp_response(request: bytes, values: dict[str, tuple[int, str]]) -> bytes:
    _, content, _ = wire.ber_read(request)
    version, community, pdu = wire.ber_children(content)
    request_id = wire.ber_children(pdu[1])[0][1]
    binds = b""
    for oid in values:
        kind, text = values[oid]
        value = (
            wire.ber_oid(text)
            if kind == 0x06
            else wire.ber_int(int(text))
            if kind == 0x02
            else wire.ber(0x04, text.encode())
        )
        binds += wire.ber(0x30, wire.ber_oid(oid) + value)
    body = wire.ber(0x02, request_id) + wire.ber_int(0) + wire.ber_int(0) + wire.ber(0x30, binds)
    return wire.ber(0x30, wire.ber(0x02, version[1]) + wire.ber(0x04, community[1]) + wire.ber(0xA2, body))


def http_response(status: str, headers: dict[str, str], body: str) -> bytes:
    head = {"Date": formatdate(usegmt=True), "Content-Length": str(len(body.encode())), **headers}
    return (f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n" + body).encode()


class Service:
    """One TCP or UDP listener whose answers come from ``answer(request)``."""

    def __init__(
        self, kind: str, answer: Answer, greeting: bytes = b"", lines: bool = False, once: bool = False
    ) -> None:
        outer = self

        class TcpHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock = self.request
                sock.settimeout(5)
                if greeting:
                    sock.sendall(greeting)
                reader = sock.makefile("rb") if lines else None
                while True:
                    try:
                        data = reader.readline() if reader else sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    reply = outer.answer(data)
                    if reply is None:
                        continue
                    if reply == b"<close>":
                        return
                    sock.sendall(reply)
                    if once:  # HTTP with Connection: close
                        return

        class UdpHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                reply = outer.answer(data)
                if reply:
                    sock.sendto(reply, self.client_address)

        self.answer = answer
        cls = socketserver.ThreadingTCPServer if kind == "tcp" else socketserver.ThreadingUDPServer
        cls.allow_reuse_address = True
        cls.daemon_threads = True
        self.server = cls(("127.0.0.1", 0), TcpHandler if kind == "tcp" else UdpHandler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _s7(cc: bytes, setup: bytes, szl: dict[int, bytes]) -> Answer:
    def answer(req: bytes) -> bytes | None:
        if len(req) > 5 and req[5] == 0xE0:
            return cc
        if req == wire.S7_SETUP:
            return setup
        if len(req) >= 33:
            return szl.get(struct.unpack(">H", req[29:31])[0], b"<close>")
        return b"<close>"

    return answer


def recorded() -> dict[str, Service]:
    def modbus(req: bytes) -> bytes | None:
        if req == wire.MODBUS_REPORT_SLAVE_ID:
            return REC_SLAVE_ID
        unit = req[6] if len(req) > 6 else 0
        return {1: REC_MODBUS_UNIT1, 255: REC_MODBUS_UNIT255}.get(unit)  # unit 0: silence

    def http(req: bytes) -> bytes | None:
        if req.startswith(b"GET / "):
            return http_response("302 Found", {"Location": "/index.html", "Content-Type": "text/html"}, "")
        if req.startswith(b"GET /index.html"):
            return http_response(
                "200 OK",
                {"Last-Modified": "Tue, 19 May 1993 09:00:00 GMT", "Content-Type": "text/html", "Set-cookie": "path=/"},
                REC_INDEX,
            )
        return None

    ftp_replies = {b"USER": b"331 Now specify the Password.\r\n",
                   b"PASS": b"220- Technodrome - Mouser Factory. Authorized personnel only\r\n220 \r\n",
                   b"SYST": b"215 UNIX Type: L8\r\n", b"QUIT": b"221 Bye.\r\n"}  # fmt: skip
    return {
        "s7comm": Service("tcp", _s7(REC_COTP_CC, REC_SETUP, {0x11: REC_SZL_11, 0x1C: REC_SZL_1C})),
        "modbus": Service("tcp", modbus),
        "snmp": Service("udp", lambda req: snmp_response(req, REC_SNMP)),
        "http": Service("tcp", http, once=True),
        "ftp": Service("tcp", lambda req: ftp_replies.get(req[:4]), greeting=b"200 FTP server ready.\r\n", lines=True),
        "enip": Service("tcp", lambda req: REC_ENIP if req[:2] == b"\x63\x00" else b"<close>"),
        "bacnet": Service("udp", lambda req: REC_BACNET_BARE_I_AM if req == wire.BACNET_BARE_WHO_IS else None),
        "ipmi": Service("udp", lambda req: REC_IPMI),
    }


# ---- a real device with a persona (what the rendered template makes a fixed Conpot answer) ----
def _tpkt(cotp_and_data: bytes) -> bytes:
    return struct.pack(">BBH", 3, 0, 4 + len(cotp_and_data)) + cotp_and_data


def _szl(szl_id: int, record_size: int, records: list[tuple[int, str]], width: int) -> bytes:
    body = b"".join(
        struct.pack(">H", i) + t.encode().ljust(width, b"\0")[:width].ljust(record_size - 2, b"\0") for i, t in records
    )
    data = b"\xff\x09" + struct.pack(">HHHHH", 8 + len(body), szl_id, 1, record_size, len(records)) + body
    params = h("000112081284010100000000")[:8]
    return _tpkt(h("02f080") + b"\x32\x07" + struct.pack(">HHHH", 0, 0, len(params), len(data)) + params + data)


def device(persona: Persona) -> dict[str, Service]:
    s7 = persona.s7
    items = (s7.system_name, s7.module_name, s7.plant_identification, s7.copyright, s7.serial_number)
    szl_1c = _szl(0x1C, 34, [*enumerate(items, start=1), (7, s7.module_type_name), (11, s7.location)], 32)
    szl_11 = _szl(0x11, 28, [(1, s7.order_number)], 20)
    cc = _tpkt(h("11d00001000c00c0010ac1020100c2020102"))
    setup = _tpkt(h("02f080") + h("320300000000000800000000f0000001000101e0"))
    snmp = persona.snmp
    values = {
        "1.3.6.1.2.1.1.1.0": (0x04, snmp.sys_descr),
        "1.3.6.1.2.1.1.2.0": (0x06, snmp.sys_object_id),
        "1.3.6.1.2.1.1.4.0": (0x04, snmp.sys_contact),
        "1.3.6.1.2.1.1.5.0": (0x04, snmp.sys_name),
        "1.3.6.1.2.1.1.6.0": (0x04, snmp.sys_location),
        "1.3.6.1.2.1.1.7.0": (0x02, str(snmp.sys_services)),
    }
    page = f"<html><head><title>{persona.http.title}</title></head><body><h1>{persona.http.heading}</h1></body></html>"

    def http(req: bytes) -> bytes | None:
        return http_response("200 OK", {"Server": persona.http.server, "Last-Modified": http_date(persona),
                                        "Content-Type": "text/html"}, page)  # fmt: skip

    services = {
        "snmp": Service("udp", lambda req: snmp_response(req, values)),
        "http": Service("tcp", http, once=True),
    }
    if "s7comm" in persona.services:
        services["s7comm"] = Service("tcp", _s7(cc, setup, {0x11: szl_11, 0x1C: szl_1c}))
    mb = persona.modbus
    objects = b"".join(
        bytes((i, len(v))) + v.encode() for i, v in enumerate((mb.vendor_name, mb.product_code, mb.revision))
    )
    mei = b"\x2b\x0e\x01\x01\x00\x00\x03" + objects

    def modbus(req: bytes) -> bytes | None:
        if req == wire.MODBUS_REPORT_SLAVE_ID:
            return h("000200000003018101")  # illegal function: a well-formed exception
        return req[:4] + struct.pack(">H", 1 + len(mei)) + req[6:7] + mei

    ident = persona.enip
    name = ident.product_name.encode()
    fields = (ident.vendor_id, ident.device_type, ident.product_code, ident.revision_major, ident.revision_minor)
    identity = struct.pack("<HHHBBHIB", *fields, ident.status_word, ident.serial_number, len(name))
    item = struct.pack(">HHI8x", 2, 44818, 0x7F000001) + identity + name + bytes((ident.state,))
    body = struct.pack("<HHHH", 1, 0x0C, 2 + len(item), 1) + item
    enip = struct.pack("<HHII8sI", 0x63, len(body), 0, 0, bytes(8), 0) + body
    if "modbus" in persona.services:
        services["modbus"] = Service("tcp", modbus)
    if "enip" in persona.services:
        services["enip"] = Service("tcp", lambda req: enip)
    return services


@contextmanager
def serving(services: dict[str, Service]) -> Iterator[dict[str, int]]:
    try:
        yield {name: service.port for name, service in services.items()}
    finally:
        for service in services.values():
            service.close()


def free_port() -> int:
    """A port nothing listens on at this instant (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
