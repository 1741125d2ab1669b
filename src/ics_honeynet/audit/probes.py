"""The live audit's probes: raw sockets, one probe per protocol, each failure its own error.

A probe that cannot connect marks its service closed; one that connects but gets a short,
malformed or late answer records a ``ProbeError`` for that protocol and the audit goes on.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping

from ics_honeynet.audit import wire
from ics_honeynet.audit.assess import Behaviour, Observed, ProbeError

DEFAULT_PORTS: Mapping[str, int] = {
    "s7comm": 102,
    "modbus": 502,
    "snmp": 161,
    "http": 80,
    "ftp": 21,
    "enip": 44818,
    "bacnet": 47808,
    "ipmi": 623,
}
_PYGHMI_AUTH_CAPABILITIES = "0180040200000000"  # Conpot's fake BMC (recorded answer), byte for byte


class _Closed(Exception):
    """Nothing listens (TCP refused or reset before any answer)."""


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError as exc:
        raise _Closed from exc


def _read_frame(sock: socket.socket, header: int, size_of: Callable[[bytes], int]) -> bytes:
    """One length-prefixed message: ``size_of(header bytes)`` gives the whole message's size."""
    data = b""
    while len(data) < header:
        chunk = sock.recv(4096)
        if not chunk:
            raise wire.WireError(f"connection closed after {len(data)} bytes")
        data += chunk
    total = size_of(data)
    while len(data) < total:
        chunk = sock.recv(4096)
        if not chunk:
            raise wire.WireError(f"connection closed after {len(data)} of {total} bytes")
        data += chunk
    return data


def _tpkt(sock: socket.socket) -> bytes:
    return _read_frame(sock, 4, lambda d: int.from_bytes(d[2:4], "big"))


def _mbap(sock: socket.socket) -> bytes:
    return _read_frame(sock, 6, lambda d: 6 + int.from_bytes(d[4:6], "big"))


def _udp(host: str, port: int, request: bytes, timeout: float) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(request, (host, port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None
        except ConnectionRefusedError as exc:  # ICMP port unreachable: nothing listens
            raise _Closed from exc


def probe_s7(host: str, port: int, timeout: float, observed: Observed) -> None:
    for szl_id, index in ((0x11, 0x0001), (0x1C, 0x0001)):
        with _connect(host, port, timeout) as sock:
            sock.sendall(wire.COTP_CONNECT)
            confirm = wire.cotp_confirm(_tpkt(sock))
            observed.open_services.add("s7comm")
            if szl_id == 0x11 and confirm.params.get(0xC2, b"") != bytes.fromhex("0102"):
                observed.behaviours.append(
                    Behaviour("s7comm", "COTP confirm does not echo the called TSAP 0x0102 (Conpot parses it as 0)",
                              f"params={ {hex(k): v.hex() for k, v in confirm.params.items()} }", 15)
                )  # fmt: skip
            sock.sendall(wire.S7_SETUP)
            _tpkt(sock)
            sock.sendall(wire.szl_request(szl_id, index))
            texts = wire.szl_texts(wire.szl_answer(_tpkt(sock)))
        if szl_id == 0x11:
            order = texts.get(1, "")
            observed.add("s7comm", "szl_11.order_number", order)
            if not order:
                observed.behaviours.append(
                    Behaviour("s7comm", "SZL 0x0011 carries no order number (real CPUs always do)", repr(texts), 10)
                )
        else:
            names = {1: "system_name", 2: "module_name", 3: "plant", 4: "copyright", 5: "serial", 7: "module_type_name"}
            for key, name in names.items():
                if key in texts:
                    observed.add("s7comm", f"szl_1c.{name}", texts[key])


def probe_modbus(host: str, port: int, timeout: float, observed: Observed) -> None:
    last: wire.WireError | None = None
    for unit in (1, 0, 255):
        try:
            with _connect(host, port, timeout) as sock:
                observed.open_services.add("modbus")
                sock.sendall(wire.modbus_device_id_request(unit))
                objects = wire.modbus_device_id(_mbap(sock))
        except (wire.WireError, TimeoutError) as exc:
            last = exc if isinstance(exc, wire.WireError) else wire.WireError(f"unit {unit}: no answer")
            continue
        for key, name in ((0, "vendor_name"), (1, "product_code"), (2, "revision")):
            if key in objects:
                observed.add("modbus", name, objects[key])
        break
    else:
        observed.errors.append(ProbeError("modbus", f"device identification: {last}"))
    with _connect(host, port, timeout) as sock:
        sock.sendall(wire.MODBUS_REPORT_SLAVE_ID)
        answer = _mbap(sock)
    if not wire.modbus_slave_id_consistent(answer):
        observed.behaviours.append(
            Behaviour("modbus", "Report Slave ID announces more bytes than it sends (Conpot)", answer.hex(), 20)
        )


def probe_snmp(host: str, port: int, timeout: float, observed: Observed) -> None:
    answer = None
    for version in (1, 0):
        answer = _udp(host, port, wire.snmp_get("public", list(wire.SYSTEM_GROUP), version), timeout)
        if answer:
            break
    if answer is None:
        raise TimeoutError("no answer to SNMP v2c/v1 GET (community public)")
    observed.open_services.add("snmp")
    for oid, value in wire.snmp_values(answer).items():
        if oid in wire.SYSTEM_GROUP:
            observed.add("snmp", wire.SYSTEM_GROUP[oid], value)


def probe_http(host: str, port: int, timeout: float, observed: Observed) -> None:
    for path in ("/", "/index.html"):
        with _connect(host, port, timeout) as sock:
            observed.open_services.add("http")
            sock.sendall(wire.http_request(path, host))
            raw = b""
            while len(raw) < 1 << 20:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break
                if not chunk:
                    break
                raw += chunk
        answer = wire.http_answer(raw)
        for name in ("server", "last-modified", "set-cookie", "location"):
            if name in answer.headers:
                observed.add("http", f"header.{name}", answer.headers[name])
        if "<title>" in answer.body.lower():
            start = answer.body.lower().index("<title>") + 7
            observed.add("http", "title", answer.body[start : answer.body.lower().find("</title>", start)].strip())
        observed.add("http", f"body{path}", answer.body[:2000])
        stock = answer.status == 302 and answer.headers.get("location") == "/index.html"
        if path == "/" and stock and "server" not in answer.headers:
            observed.behaviours.append(
                    Behaviour("http", "/ redirects to /index.html with no Server header (Conpot's stock pages)",
                              f"{answer.status} location={answer.headers.get('location')}", 10)
                )  # fmt: skip
        if answer.headers.get("set-cookie", "").strip() == "path=/":
            observed.behaviours.append(Behaviour("http", "nameless cookie 'Set-cookie: path=/'", path, 15))


def probe_ftp(host: str, port: int, timeout: float, observed: Observed) -> None:
    with _connect(host, port, timeout) as sock:
        reader = sock.makefile("rb")
        line = reader.readline(512)
        if not line:
            raise wire.WireError("connection closed before a greeting")
        code, text = wire.ftp_reply(line)
        observed.open_services.add("ftp")
        observed.add("ftp", "greeting", text)
        if code != 220:
            observed.behaviours.append(
                Behaviour("ftp", f"greeting with reply code {code} (servers send 220; Conpot sends 200)",
                          line.decode("latin-1").strip(), 20)
            )  # fmt: skip
        for command in (b"USER anonymous\r\n", b"PASS guest@\r\n"):
            sock.sendall(command)
            reply = reader.readline(512)
            while reply[3:4] == b"-":  # multi-line reply: the MOTD
                observed.add("ftp", "motd", reply[4:].decode("latin-1").strip())
                reply = reader.readline(512)
        sock.sendall(b"QUIT\r\n")


def probe_enip(host: str, port: int, timeout: float, observed: Observed) -> None:
    with _connect(host, port, timeout) as sock:
        observed.open_services.add("enip")
        sock.sendall(wire.ENIP_LIST_IDENTITY)
        frame = _read_frame(sock, 4, lambda d: 24 + int.from_bytes(d[2:4], "little"))
    ident = wire.enip_identity(frame)
    for name in ("vendor_id", "device_type", "product_code", "revision", "serial", "product_name"):
        observed.add("enip", name, getattr(ident, name))
    if ident.status == 0x3160 and ident.state == 0xFF:
        observed.behaviours.append(
            Behaviour("enip", "cpppo's default identity status 0x3160 / state 0xFF", f"{ident}", 15)
        )


def probe_bacnet(host: str, port: int, timeout: float, observed: Observed) -> None:
    answer = _udp(host, port, wire.BACNET_WHO_IS, timeout)
    if answer is None:
        answer = _udp(host, port, wire.BACNET_BARE_WHO_IS, timeout)
        if answer is None:
            raise TimeoutError("no answer to Who-Is")
    observed.open_services.add("bacnet")
    i_am = wire.bacnet_i_am(answer)
    observed.add("bacnet", "device_instance", i_am.instance)
    observed.add("bacnet", "vendor_id", i_am.vendor_id)
    if not i_am.framed:
        observed.behaviours.append(
            Behaviour("bacnet", "answers a bare Who-Is APDU but not BACnet/IP's framed one (Conpot)", answer.hex(), 25)
        )
    if i_am.object_type != 8:
        observed.behaviours.append(
            Behaviour("bacnet", f"I-Am names object type {i_am.object_type}, not a device (8)", answer.hex(), 15)
        )


def probe_ipmi(host: str, port: int, timeout: float, observed: Observed) -> None:
    answer = _udp(host, port, wire.IPMI_AUTH_CAPABILITIES, timeout)
    if answer is None:
        raise TimeoutError("no answer to Get Channel Authentication Capabilities")
    observed.open_services.add("ipmi")
    data = wire.ipmi_auth_capabilities(answer)
    observed.add("ipmi", "auth_capabilities", data.hex())
    if data.hex() == _PYGHMI_AUTH_CAPABILITIES:
        observed.behaviours.append(
            Behaviour("ipmi", "pyghmi's fake BMC capabilities, byte for byte (no auth types offered)", data.hex(), 10)
        )


PROBES: Mapping[str, Callable[[str, int, float, Observed], None]] = {
    "s7comm": probe_s7,
    "modbus": probe_modbus,
    "snmp": probe_snmp,
    "http": probe_http,
    "ftp": probe_ftp,
    "enip": probe_enip,
    "bacnet": probe_bacnet,
    "ipmi": probe_ipmi,
}


def probe_host(host: str, ports: Mapping[str, int], timeout: float) -> Observed:
    observed = Observed()
    for protocol, port in ports.items():
        try:
            PROBES[protocol](host, port, timeout, observed)
        except _Closed:
            continue
        except TimeoutError as exc:
            observed.errors.append(ProbeError(protocol, f"port {port}: timed out ({exc or 'no answer'})"))
        except wire.WireError as exc:
            observed.errors.append(ProbeError(protocol, f"port {port}: malformed answer: {exc}"))
        except OSError as exc:
            observed.errors.append(ProbeError(protocol, f"port {port}: {exc.strerror or exc}"))
    return observed
