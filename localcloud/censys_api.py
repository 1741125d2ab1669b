"""A Censys-compatible host lookup on 127.0.0.1 (its own listener, as api.platform.censys.io is
its own host), for the real CensysLookup function's requests (routed here by
handler_patches.routing_censys_to).

``GET /v3/global/asset/host/{ip}`` with ``Authorization: Bearer <token>`` answers Censys's
envelope ``{"result": {"resource": {"ip", "services": [...], "labels": [...]}, "extensions": {}}}``
for a host it lists (``set_host``; a scenario's ``censys_after_minutes``: ``publish_later``), and
a 404 problem document for one it does not. Without the bearer token, or with another one, it
answers 401 as Censys does (its errors are ``application/problem+json``; Censys's SDK, errors
401/403 ``ErrorModel``). Faults per IP or global, optionally a number of times, as InternetDB's:
``rate_limit`` (429), ``500``, ``502``, ``503``, ``timeout`` (holds the answer), ``garbage``
(200 not JSON), ``wrong_ip`` (a record about another IP), ``403`` (the token refused). Every
request is recorded (path, IP, status, time); records never hold the token.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from localcloud.shodan_api import Fault, JsonAnswers, RequestRecord, take_fault

HOST_PATH = ("v3", "global", "asset", "host")
PROBLEM = "application/problem+json"
# The protocol Censys names for a port Conpot serves (the local record's ``protocol``).
PROTOCOLS = {21: "FTP", 80: "HTTP", 102: "S7", 161: "SNMP", 502: "MODBUS", 623: "IPMI", 44818: "EIP", 47808: "BACNET"}


def _problem(status: int, title: str, detail: str) -> tuple[int, str, str]:
    return status, PROBLEM, json.dumps({"title": title, "status": status, "detail": detail})


def censys_record(ip: str, ports: tuple[int, ...], labels: tuple[str, ...]) -> dict[str, Any]:
    """Censys's host record for ``ip`` serving ``ports``, labelled ``labels``."""
    services = [
        {"port": port, "protocol": PROTOCOLS.get(port, "UNKNOWN"), "transport_protocol": "tcp"}
        for port in sorted(ports)
    ]
    resource = {
        "ip": ip,
        "services": services,
        "service_count": len(services),
        "labels": [{"value": label} for label in labels],
        "autonomous_system": {"asn": 16509, "name": "AMAZON-02"},
    }
    return {"result": {"resource": resource, "extensions": {}}}


class CensysApiServer:
    def __init__(self, token: str, host: str = "127.0.0.1") -> None:
        self.token = token
        self.timeout_hold_seconds = 15.0
        self._records: dict[str, dict[str, Any]] = {}
        self._faults: dict[str | None, Fault] = {}
        self._requests: list[RequestRecord] = []
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"

    # -- configuration ---------------------------------------------------------------------------
    def set_host(self, ip: str, record: dict[str, Any] | None) -> None:
        with self._lock:
            if record is None:
                self._records.pop(ip, None)
            else:
                self._records[ip] = record

    def publish_later(self, ip: str, delay_s: float, record: dict[str, Any]) -> None:
        """Censys lists ``ip`` after ``delay_s`` (its scanners' next pass); until then its 404."""
        if delay_s <= 0:
            self.set_host(ip, record)
            return
        timer = threading.Timer(delay_s, self.set_host, (ip, record))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def set_fault(self, fault: str | None, ip: str | None = None, times: int | None = None) -> None:
        with self._lock:
            if fault is None:
                self._faults.pop(ip, None)
            else:
                self._faults[ip] = Fault(fault, times)

    def requests(self, ip: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._requests if ip is None or r.ip == ip]

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> CensysApiServer:
        threading.Thread(target=self._httpd.serve_forever, name="local-censys", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for timer in self._timers:
            timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- behaviour -------------------------------------------------------------------------------
    def respond(self, path: str, authorization: str | None) -> tuple[int, str, str]:
        """Censys's (status, content type, body) for ``GET path``."""
        if authorization != f"Bearer {self.token}":
            return _problem(401, "Unauthorized", "a valid personal access token is required")
        parts = tuple(p for p in path.split("/") if p)
        ip = parts[-1] if parts[:-1] == HOST_PATH and len(parts) == 5 else None
        fault = take_fault(self._faults, self._lock, ip, None)
        if fault == "rate_limit":
            return _problem(429, "Too Many Requests", "rate limit exceeded")
        if fault == "403":
            return _problem(403, "Forbidden", "this token may not use this endpoint")
        if fault == "timeout":
            self._stop.wait(self.timeout_hold_seconds)
        elif fault in ("500", "503"):
            return _problem(int(fault), "Internal Server Error", "try again later")
        elif fault == "502":
            return 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"
        elif fault == "garbage":
            return 200, "text/html", "<html>maintenance</html>"
        if ip is None:
            return _problem(404, "Not Found", "no such endpoint")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return _problem(422, "Unprocessable Entity", "host_id is not an IP address")
        with self._lock:
            record = self._records.get(ip)
        if record is None:
            return _problem(404, "Not Found", "host not found")
        if fault == "wrong_ip":
            resource = {**record["result"]["resource"], "ip": "192.0.2.1"}
            return 200, "application/json", json.dumps({"result": {**record["result"], "resource": resource}})
        return 200, "application/json", json.dumps(record)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(JsonAnswers):
            def do_GET(self) -> None:
                path = urlparse(self.path).path
                status, content_type, body = server.respond(path, self.headers.get("Authorization"))
                parts = [p for p in path.split("/") if p]
                with server._lock:
                    server._requests.append(RequestRecord(path, parts[-1] if parts else None, status, time.monotonic()))
                self._answer(status, content_type, body)

        return Handler
