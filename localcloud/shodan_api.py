"""A Shodan-compatible HTTP API on 127.0.0.1, for the real ``shodan`` client (SHODAN_API_URL).

It answers the calls the sweep makes with Shodan's real shapes and error bodies:

- ``GET /shodan/host/{ip}?key=K[&minify=true]``: the host document, or 404
  ``{"error": "No information available for that IP."}``;
- ``GET /labs/honeyscore/{ip}?key=K``: a bare float, or an error when unknown;
- ``GET /api-info?key=K``: plan and credits (the scan credits left);
- ``POST /shodan/scan`` (form ``key``, ``ips``, ``force``: the client sends them in the body):
  one scan credit per IP, ``{"id", "count", "credits_left"}``; out of credits, Shodan's
  ``Insufficient scan credits...`` (HTTP 401, as Shodan answers a plan's exhausted credits). After
  ``scan_delay_s`` the IP is in the index, with banners timestamped at the scan (``scanned_host``).

Shodan Monitor (network alerts; the ``shodan`` client's ``create_alert``, ``edit_alert``,
``alerts``, ``delete_alert``, ``enable_alert_trigger``, ``add_alert_notifier``, ``notifier.*``):

- ``POST /shodan/alert`` (JSON ``name``, ``filters.ip``, ``expires``), ``POST /shodan/alert/{id}``
  (new ``filters.ip``), ``GET /shodan/alert/{id}/info``, ``GET /shodan/alert/info``,
  ``DELETE /shodan/alert/{id}``, ``PUT /shodan/alert/{id}/trigger/{names}`` (comma separated),
  ``PUT /shodan/alert/{id}/notifier/{nid}``, ``GET /shodan/alert/triggers``;
- ``POST /notifier`` (form ``provider``, ``description`` and the provider's fields, ``url`` for a
  webhook), ``DELETE /notifier/{id}``;
- the plan's ``monitored_ips`` (``/api-info`` ``usage_limits``): an alert set that would watch
  more IPs is refused (the wording of that error is ours: the sync never relies on it);
- **pushes**: when an IP becomes indexed (``index_later``, a scenario's ``indexed_after_minutes``)
  every alert watching it with a trigger on and a webhook notifier attached gets one POST per new
  banner, signed as Shodan signs them (``SHODAN-SIGNATURE-SHA1``: hex HMAC-SHA1 of the body keyed
  with the API key; written here independently of the handler's check), with the headers
  ``SHODAN-ALERT-ID``/``-NAME``/``-TRIGGER`` and no content type (as Shodan's, see README), to
  ``deliver`` (the local cloud routes a function URL to its function: localcloud/function_urls.py).
  Every push is recorded (``pushes()``).

Shodan InternetDB (``internetdb_url``, its own listener as it is its own host,
https://internetdb.shodan.io): ``GET /{ip}`` answers ``{cpes, hostnames, ip, ports, tags, vulns}``
derived from the index (``internetdb_document``) as it was when InternetDB's weekly refresh last
reached the IP (``publish_to_internetdb``; a scenario's ``internetdb_after_minutes``), else 404
``{"detail": "No information available"}``. No key; faults of its own (``set_internetdb_fault``:
``rate_limit`` (429), ``500``, ``502``, ``503``, ``timeout``, ``garbage``, ``missing_fields``,
``wrong_ip``); its requests are recorded apart (``internetdb_requests``).

It enforces the key (401 ``{"error": "Invalid API key"}``), optionally the rate limit per key
(429 with Shodan's message), and injects faults per IP or globally, optionally a number of
times: ``403``, ``500``, ``502``, ``503``, ``timeout`` (holds the answer), ``garbage`` (200 with
a body that is not JSON), ``missing_fields`` (200 JSON without ``ip_str``/``ports``/``data``),
``null_body`` (200 ``null``), ``empty_object`` (200 ``{}``), ``timed_out`` (200 with Shodan's
``{"error": "Request timed out..."}``), ``rate_limit``; a fault can be limited to one endpoint
(``host`` or ``honeyscore``). Every request is recorded (path, IP, status, time) for tests and
benchmarks; records never hold the key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from localcloud import clock
from localcloud.constants import SHUTDOWN_POLL_S
from localcloud.scenario import Profile, render_host

NOT_FOUND = "No information available for that IP."
INVALID_KEY = "Invalid API key"
RATE_LIMITED = (
    "Request rate limit reached (1 request/ second). Please wait a second before trying again and slow down "
    "your API calls."
)
TIMED_OUT = "Request timed out. Please try again in a few seconds."
# Shodan's answer when a plan's credits are used up (its query-credits wording, with "scan").
NO_SCAN_CREDITS = "Insufficient scan credits, please upgrade your API plan or wait for the monthly limit to reset"
SCAN_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
FAULTS = (
    "403",
    "500",
    "502",
    "503",
    "timeout",
    "garbage",
    "missing_fields",
    "null_body",
    "empty_object",
    "timed_out",
    "rate_limit",
)
ENDPOINTS = ("host", "honeyscore", "scan", "alert")
INTERNETDB_NOT_FOUND = "No information available"
INTERNETDB_FAULTS = ("rate_limit", "500", "502", "503", "timeout", "garbage", "missing_fields", "wrong_ip")
TRIGGERS = (
    "any", "industrial_control_system", "malware", "new_service", "open_database", "iot", "internet_scanner",
    "ssl_expired", "uncommon", "uncommon_plus", "vulnerable", "vulnerable_unverified",
)  # fmt: skip
ALERT_NOT_FOUND = "Alert not found"  # the emulator's wording: the sync reads the 404, not the text
ALERT_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class RequestRecord:
    path: str  # without the query string (it holds the key)
    ip: str | None
    status: int
    at: float  # time.monotonic()


@dataclass(frozen=True)
class ScanRecord:
    """An on-demand scan Shodan accepted: its id, the IP, when (UTC), when it lands (monotonic)."""

    scan_id: str
    ip: str
    at: datetime
    due: float


@dataclass(frozen=True)
class Push:
    """One Monitor notification sent to a webhook: when (monotonic), where, about what, the answer."""

    at: float
    sent_at: datetime  # wall clock (UTC): compared with Step Functions' event times
    url: str
    alert_id: str
    trigger: str
    ip: str
    port: int
    status: int | None  # None: it could not be delivered


Deliver = Callable[[str, dict[str, str], bytes], int]


@dataclass
class Fault:
    kind: str
    remaining: int | None  # None: every time
    endpoint: str | None = None  # None: every endpoint


class ShodanApiServer:
    def __init__(
        self,
        api_key: str,
        rate_limit_per_s: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        scan_credits: int = 100,
        scan_delay_s: float = 0.0,
        monitored_ips: int = 16,
    ) -> None:
        self.api_key = api_key
        self.monitored_ips = monitored_ips  # the plan's alert credits (a Membership: 16)
        self._alerts: dict[str, dict[str, Any]] = {}
        self._notifiers: dict[str, dict[str, Any]] = {}
        self._pushes: list[Push] = []
        self._timers: list[threading.Timer] = []
        self._internetdb_timers: list[threading.Timer] = []
        # Where a webhook notifier's POST goes: (url, headers, body) -> HTTP status. The local
        # cloud routes function URLs; None: nothing is delivered (each push recorded undelivered).
        self.deliver: Deliver | None = None
        self.rate_limit_per_s = rate_limit_per_s
        self.scan_credits = scan_credits
        self.scan_delay_s = scan_delay_s  # from an accepted scan to the IP's banners in the index
        # The host document a finished scan puts in the index: (ip, scanned at) -> document.
        self.scanned_host: Callable[[str, datetime], dict[str, Any]] = _scanned_host
        self._scans: list[ScanRecord] = []
        self._landed: set[str] = set()  # scan ids already in the index
        self.timeout_hold_seconds = 15.0  # a "timeout" fault holds the answer this long (bounded)
        self._hosts: dict[str, dict[str, Any]] = {}
        self._honeyscores: dict[str, float] = {}
        self._raw_answers: dict[str, tuple[int, str, str]] = {}
        self._faults: dict[str | None, Fault] = {}
        self._records: list[RequestRecord] = []
        self._last_request_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._internetdb: dict[str, dict[str, Any]] = {}
        self._internetdb_faults: dict[str | None, Fault] = {}
        self._internetdb_records: list[RequestRecord] = []
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._internetdb_httpd = ThreadingHTTPServer((host, 0), self._internetdb_handler_class())
        self._internetdb_httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self.internetdb_url = f"http://{host}:{self._internetdb_httpd.server_address[1]}"

    # -- configuration ---------------------------------------------------------------------------
    def set_host(self, ip: str, host: dict[str, Any] | None) -> None:
        with self._lock:
            if host is None:
                self._hosts.pop(ip, None)
            else:
                self._hosts[ip] = host

    def set_raw_answer(self, ip: str, answer: tuple[int, str, str] | None) -> None:
        """Answer host lookups of ``ip`` with (status, content type, body) as given: any answer a
        test can think of, through the real client."""
        with self._lock:
            if answer is None:
                self._raw_answers.pop(ip, None)
            else:
                self._raw_answers[ip] = answer

    def set_honeyscore(self, ip: str, score: float | None) -> None:
        with self._lock:
            if score is None:
                self._honeyscores.pop(ip, None)
            else:
                self._honeyscores[ip] = score

    def set_fault(
        self, fault: str | None, ip: str | None = None, times: int | None = None, endpoint: str | None = None
    ) -> None:
        """Inject ``fault`` for ``ip`` (or every IP when None) on ``endpoint`` (or every one),
        ``times`` times or until cleared."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; choose from {', '.join(ENDPOINTS)}")
        with self._lock:
            if fault is None:
                self._faults.pop(ip, None)
            else:
                self._faults[ip] = Fault(fault, times, endpoint)

    def set_internetdb(self, ip: str, document: dict[str, Any] | None) -> None:
        """What InternetDB answers for ``ip`` (None: its 404)."""
        with self._lock:
            if document is None:
                self._internetdb.pop(ip, None)
            else:
                self._internetdb[ip] = document

    def publish_to_internetdb(self, ip: str, delay_s: float = 0.0) -> None:
        """InternetDB's weekly refresh reaches ``ip`` in ``delay_s`` (real seconds; 0: now): from
        then on it answers what the index held at that moment (nothing: its 404)."""

        def refresh() -> None:
            if self._stop.is_set():
                return
            with self._lock:
                host = self._hosts.get(ip)
            self.set_internetdb(ip, internetdb_document(host) if host is not None else None)

        if delay_s <= 0:
            refresh()
            return
        timer = threading.Timer(delay_s, refresh)
        timer.daemon = True
        with self._lock:
            self._internetdb_timers.append(timer)
        timer.start()

    def set_internetdb_fault(self, fault: str | None, ip: str | None = None, times: int | None = None) -> None:
        """Inject ``fault`` into InternetDB's answers for ``ip`` (or every IP when None), ``times``
        times or until cleared."""
        if fault is not None and fault not in INTERNETDB_FAULTS:
            raise ValueError(f"unknown InternetDB fault {fault!r}; choose from {', '.join(INTERNETDB_FAULTS)}")
        with self._lock:
            if fault is None:
                self._internetdb_faults.pop(ip, None)
            else:
                self._internetdb_faults[ip] = Fault(fault, times)

    def internetdb_requests(self, ip: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._internetdb_records if ip is None or r.ip == ip]

    def requests(self, ip: str | None = None) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._records if ip is None or r.ip == ip]

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert as Shodan keeps it (its IPs, triggers, notifiers)."""
        with self._lock:
            return json.loads(json.dumps(list(self._alerts.values())))

    def notifiers(self) -> list[dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(list(self._notifiers.values())))

    def pushes(self) -> list[Push]:
        """Every Monitor notification sent, in order."""
        with self._lock:
            return list(self._pushes)

    def index_later(self, ip: str, delay_s: float, host: Callable[[], dict[str, Any] | None]) -> None:
        """In ``delay_s`` (real seconds) Shodan indexes ``ip`` (``host()`` then) and pushes each of
        its banners to the alerts watching it."""
        timer = threading.Timer(max(0.0, delay_s), self._index_now, args=(ip, host))
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def pending_indexings(self) -> int:
        """Indexings scheduled and not yet done (their pushes delivered)."""
        with self._lock:
            return sum(t.is_alive() for t in self._timers)

    def _index_now(self, ip: str, host: Callable[[], dict[str, Any] | None]) -> None:
        if self._stop.is_set():
            return
        document = host()
        self.set_host(ip, document)
        if document is not None:
            self.notify(ip, list(document.get("data") or []))

    def notify(self, ip: str, banners: list[dict[str, Any]], trigger: str = "new_service") -> list[Push]:
        """Push ``banners`` of ``ip`` to every alert watching it with ``trigger`` on and a webhook."""
        with self._lock:
            targets = [
                (alert, self._notifiers[nid]["args"]["url"])
                for alert in self._alerts.values()
                if trigger in alert["triggers"] and _watches(alert, ip)
                for nid in alert["notifiers"]
                if self._notifiers.get(nid, {}).get("provider") == "webhook"
            ]
        sent = []
        for alert, url in targets:
            for banner in banners:
                shodan_meta = {
                    **banner.get("_shodan", {}),
                    "alert": {"id": alert["id"], "name": alert["name"], "trigger": trigger},
                }
                body = json.dumps({**banner, "_shodan": shodan_meta}).encode()
                headers = {
                    "SHODAN-ALERT-ID": alert["id"],
                    "SHODAN-ALERT-NAME": alert["name"],
                    "SHODAN-ALERT-TRIGGER": trigger,
                    "SHODAN-SIGNATURE-SHA1": hmac.new(self.api_key.encode(), body, hashlib.sha1).hexdigest(),
                    "User-Agent": "Shodan Monitor (localcloud)",
                }
                at, sent_at = time.monotonic(), clock.now()
                status = self.deliver(url, headers, body) if self.deliver is not None else None
                push = Push(at, sent_at, url, alert["id"], trigger, ip, int(banner.get("port") or 0), status)
                with self._lock:
                    self._pushes.append(push)
                sent.append(push)
        return sent

    def scans(self) -> list[ScanRecord]:
        """Every scan accepted, in order."""
        with self._lock:
            return list(self._scans)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> ShodanApiServer:
        for name, httpd in (("local-shodan", self._httpd), ("local-internetdb", self._internetdb_httpd)):
            # shutdown() waits for the loop's next poll: a short one keeps stopping the cloud quick.
            thread = threading.Thread(target=httpd.serve_forever, args=(SHUTDOWN_POLL_S,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for timer in (*self._timers, *self._internetdb_timers):
            timer.cancel()
        for httpd in (self._httpd, self._internetdb_httpd):
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> ShodanApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour -------------------------------------------------------------------------------
    def _take_fault(
        self, ip: str | None, endpoint: str | None, faults: dict[str | None, Fault] | None = None
    ) -> str | None:
        return take_fault(self._faults if faults is None else faults, self._lock, ip, endpoint)

    def _over_rate_limit(self, key: str) -> bool:
        """Shodan's 1 request/s per key, across every client and thread."""
        if not self.rate_limit_per_s:
            return False
        now = time.monotonic()
        with self._lock:
            last = self._last_request_at.get(key)
            if last is not None and now - last < 1.0 / self.rate_limit_per_s:
                return True
            self._last_request_at[key] = now
            return False

    def _land_scans(self) -> None:
        """Scans whose delay has passed are in the index now (checked on every request: the index
        is only ever seen through one)."""
        now = time.monotonic()
        with self._lock:
            due = [s for s in self._scans if s.due <= now and s.scan_id not in self._landed]
            for scan in due:
                self._landed.add(scan.scan_id)
                host = self.scanned_host(scan.ip, scan.at)
                earlier = self._hosts.get(scan.ip)
                if earlier is not None:  # what Shodan knew of the IP stays; the banners are new
                    tags = sorted({*earlier.get("tags", []), *host.get("tags", [])})
                    host = {**host, **({"tags": tags} if tags else {})}
                self._hosts[scan.ip] = host

    def _scan(self, networks: str) -> tuple[int, str, str]:
        """``POST /shodan/scan``: one credit per IP of ``ips`` (IPs or netblocks, comma separated)."""
        try:
            targets = [ipaddress.ip_network(n.strip(), strict=False) for n in networks.split(",") if n.strip()]
        except ValueError:
            return 400, "application/json", json.dumps({"error": "Invalid IP or netblock"})
        if not targets:
            return 400, "application/json", json.dumps({"error": "No IPs specified"})
        count = sum(t.num_addresses for t in targets)
        with self._lock:
            if count > self.scan_credits:
                return 401, "application/json", json.dumps({"error": NO_SCAN_CREDITS})
            self.scan_credits -= count
            scan_id = "".join(secrets.choice(SCAN_ID_ALPHABET) for _ in range(16))
            at, due = clock.now(), time.monotonic() + self.scan_delay_s
            self._scans.extend(ScanRecord(scan_id, str(ip), at, due) for t in targets for ip in t)
            left = self.scan_credits
        return 200, "application/json", json.dumps({"id": scan_id, "count": count, "credits_left": left})

    def respond(
        self, path: str, query: dict[str, list[str]], method: str = "GET", document: Any = None
    ) -> tuple[int, str, str]:
        """(status, content type, body) for one request (a POST's form fields are in ``query``,
        its JSON body in ``document``)."""
        self._land_scans()
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["shodan", "alert"] or parts[:1] == ["notifier"]:
            key = (query.get("key") or [""])[0]
            if key != self.api_key:
                return 401, "application/json", json.dumps({"error": INVALID_KEY})
            # Only a fault set for these endpoints (endpoint="alert"): the lookups' faults stay theirs.
            with self._lock:
                scoped = (self._faults.get(None) or Fault("", None)).endpoint == "alert"
            fault = self._take_fault(None, "alert") if scoped else None
            if fault == "rate_limit" or self._over_rate_limit(key):
                return 429, "application/json", json.dumps({"error": RATE_LIMITED})
            if fault in ("500", "502", "503"):
                return int(fault), "application/json", json.dumps({"error": "Service temporarily unavailable"})
            return self._monitor(method, parts, query, document)
        ip = parts[-1] if parts[:2] in (["shodan", "host"], ["labs", "honeyscore"]) and len(parts) == 3 else None
        scanning = method == "POST" and parts == ["shodan", "scan"]
        if scanning:
            ip = (query.get("ips") or [""])[0]
        key = (query.get("key") or [""])[0]
        if key != self.api_key:
            return 401, "application/json", json.dumps({"error": INVALID_KEY})
        endpoint = "scan" if scanning else {"shodan": "host", "labs": "honeyscore"}.get(parts[0]) if ip else None
        fault = self._take_fault(ip, endpoint)
        if fault == "rate_limit" or self._over_rate_limit(key):
            return 429, "application/json", json.dumps({"error": RATE_LIMITED})
        if fault == "timeout":
            self._stop.wait(self.timeout_hold_seconds)
        elif fault in ("403", "500", "502", "503"):
            status = int(fault)
            if status == 502:
                return 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"
            messages = {403: "Access denied", 500: "Internal server error", 503: "Service temporarily unavailable"}
            return status, "application/json", json.dumps({"error": messages[status]})
        elif fault == "garbage":
            return 200, "text/html", "<html>maintenance</html>"
        elif fault in ("null_body", "empty_object"):
            return 200, "application/json", "null" if fault == "null_body" else "{}"
        elif fault == "timed_out":
            return 200, "application/json", json.dumps({"error": TIMED_OUT})

        if scanning:
            return self._scan(ip or "")
        if method != "GET":
            return 405, "application/json", json.dumps({"error": "Method not allowed"})
        if parts == ["api-info"]:
            with self._lock:
                credits, watched = self.scan_credits, sum(a["size"] for a in self._alerts.values())
            limits = _API_INFO["usage_limits"] | {"monitored_ips": self.monitored_ips}  # type: ignore[operator]
            info = _API_INFO | {"scan_credits": credits, "monitored_ips": watched, "usage_limits": limits}
            return 200, "application/json", json.dumps(info)
        if parts[:2] == ["shodan", "host"] and ip:
            with self._lock:
                host, raw = self._hosts.get(ip), self._raw_answers.get(ip)
            if raw is not None:
                return raw
            if host is None:
                return 404, "application/json", json.dumps({"error": NOT_FOUND})
            if fault == "missing_fields":
                return 200, "application/json", json.dumps({"org": host.get("org")})
            if (query.get("minify") or [""])[0].lower() == "true":
                host = {k: v for k, v in host.items() if k != "data"}
            return 200, "application/json", json.dumps(host)
        if parts[:2] == ["labs", "honeyscore"] and ip:
            with self._lock:
                score = self._honeyscores.get(ip)
            if score is None:
                return 200, "application/json", json.dumps({"error": "Unable to calculate honeyscore for that IP."})
            return 200, "application/json", json.dumps(score)
        return 404, "application/json", json.dumps({"error": "No such API endpoint."})

    def respond_internetdb(self, path: str) -> tuple[int, str, str]:
        """InternetDB's (status, content type, body) for ``GET path``."""
        parts = [p for p in path.split("/") if p]
        ip = parts[0] if len(parts) == 1 else None
        fault = self._take_fault(ip, None, self._internetdb_faults)
        if fault == "rate_limit":
            return 429, "application/json", json.dumps({"detail": "Rate limit exceeded"})
        if fault == "timeout":
            self._stop.wait(self.timeout_hold_seconds)
        elif fault in ("500", "503"):
            return int(fault), "application/json", json.dumps({"detail": "Internal Server Error"})
        elif fault == "502":
            return 502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"
        elif fault == "garbage":
            return 200, "text/html", "<html>maintenance</html>"
        if ip is None:
            return 404, "application/json", json.dumps({"detail": "Not Found"})
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return 422, "application/json", json.dumps({"detail": [{"msg": "value is not a valid IP address"}]})
        with self._lock:
            document = self._internetdb.get(ip)
        if document is None:
            return 404, "application/json", json.dumps({"detail": INTERNETDB_NOT_FOUND})
        if fault == "missing_fields":
            return 200, "application/json", json.dumps({"ip": ip, "hostnames": []})
        if fault == "wrong_ip":
            return 200, "application/json", json.dumps({**document, "ip": "192.0.2.1"})
        return 200, "application/json", json.dumps(document)

    # -- Shodan Monitor ---------------------------------------------------------------------------
    def _monitor(
        self, method: str, parts: list[str], query: dict[str, list[str]], document: Any
    ) -> tuple[int, str, str]:
        def answer(status: int, body: Any) -> tuple[int, str, str]:
            return status, "application/json", json.dumps(body)

        with self._lock:
            if parts == ["notifier"] and method == "POST":
                provider = (query.get("provider") or [""])[0]
                fields = {k: v[0] for k, v in query.items() if k not in ("key", "provider", "description")}
                if provider != "webhook" or not fields.get("url", "").startswith("https://"):
                    return answer(400, {"error": "Invalid notifier arguments"})
                nid = "".join(secrets.choice(ALERT_ID_ALPHABET.lower()) for _ in range(16))
                description = (query.get("description") or [""])[0]
                self._notifiers[nid] = {"id": nid, "provider": provider, "args": fields, "description": description}
                return answer(200, {"success": True, "id": nid})
            if parts[:1] == ["notifier"] and len(parts) == 2 and method == "DELETE":
                found = self._notifiers.pop(parts[1], None)
                return answer(200, {"success": True}) if found else answer(404, {"error": "Notifier not found"})
            if parts == ["shodan", "alert"] and method == "POST":
                return self._save_alert(None, document)
            if parts == ["shodan", "alert", "triggers"] and method == "GET":
                return answer(200, [{"name": t, "rule": "", "description": t} for t in TRIGGERS])
            if parts == ["shodan", "alert", "info"] and method == "GET":
                return answer(200, list(self._alerts.values()))
            alert = self._alerts.get(parts[2]) if len(parts) >= 3 else None
            if alert is None:
                return answer(404, {"error": ALERT_NOT_FOUND})
            if len(parts) == 3 and method == "POST":
                return self._save_alert(alert, document)
            if len(parts) == 3 and method == "DELETE":
                del self._alerts[alert["id"]]
                return answer(200, {"success": True})
            if parts[3:] == ["info"] and method == "GET":
                return answer(200, alert)
            if len(parts) == 5 and parts[3] == "trigger" and method == "PUT":
                names = [n for n in parts[4].split(",") if n]
                if not names or any(n not in TRIGGERS for n in names):
                    return answer(400, {"error": "Invalid trigger name"})
                alert["triggers"].update({n: {} for n in names})
                return answer(200, {"success": True})
            if len(parts) == 5 and parts[3] == "notifier" and method == "PUT":
                if parts[4] not in self._notifiers:
                    return answer(404, {"error": "Notifier not found"})
                if parts[4] not in alert["notifiers"]:
                    alert["notifiers"].append(parts[4])
                return answer(200, {"success": True})
        return answer(404, {"error": "No such API endpoint."})

    def _save_alert(self, alert: dict[str, Any] | None, document: Any) -> tuple[int, str, str]:
        """Create (``alert`` None) or edit an alert's IPs; the caller holds the lock."""
        filters = document.get("filters") if isinstance(document, dict) else None
        raw = filters.get("ip") if isinstance(filters, dict) else None
        raw = [raw] if isinstance(raw, str) else raw
        try:
            networks = [ipaddress.ip_network(str(n), strict=False) for n in raw or []]
        except ValueError:
            return 400, "application/json", json.dumps({"error": "Invalid IP or netblock"})
        if not networks:
            return 400, "application/json", json.dumps({"error": "No IPs specified"})
        size = sum(n.num_addresses for n in networks)
        others = sum(a["size"] for a in self._alerts.values() if alert is None or a["id"] != alert["id"])
        if others + size > self.monitored_ips:
            error = f"Your plan allows monitoring {self.monitored_ips} IPs"
            return 403, "application/json", json.dumps({"error": error})
        if alert is None:
            if not isinstance(document.get("name"), str) or not document["name"]:
                return 400, "application/json", json.dumps({"error": "No name specified"})
            aid = "".join(secrets.choice(ALERT_ID_ALPHABET) for _ in range(16))
            alert = {"id": aid, "name": document["name"], "created": clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f"),
                     "expires": int(document.get("expires") or 0), "triggers": {}, "notifiers": []}  # fmt: skip
            self._alerts[aid] = alert
        alert["filters"] = {"ip": [str(n) if n.num_addresses > 1 else str(n.network_address) for n in networks]}
        alert["size"] = size
        return 200, "application/json", json.dumps(alert)

    def _record(self, path: str, status: int, ip: str | None = None) -> None:
        parts = [p for p in path.split("/") if p]
        ip = ip or (parts[-1] if len(parts) == 3 else None)
        with self._lock:
            self._records.append(RequestRecord(path=path, ip=ip, status=status, at=time.monotonic()))

    def _internetdb_handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(JsonAnswers):
            def do_GET(self) -> None:
                path = urlparse(self.path).path
                status, content_type, body = server.respond_internetdb(path)
                parts = [p for p in path.split("/") if p]
                with server._lock:
                    record = RequestRecord(path, parts[0] if len(parts) == 1 else None, status, time.monotonic())
                    server._internetdb_records.append(record)
                self._answer(status, content_type, body)

        return Handler

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(JsonAnswers):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                status, content_type, body = server.respond(url.path, parse_qs(url.query))
                server._record(url.path, status)
                self._answer(status, content_type, body)

            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                document: Any = None
                if (self.headers.get("Content-Type") or "").startswith("application/json"):
                    try:
                        document = json.loads(raw)  # an alert's JSON body (create_alert, edit_alert)
                    except ValueError:
                        document = None
                    raw = ""
                fields = {**parse_qs(url.query), **parse_qs(raw)}  # Shodan reads both; the client sends a form
                status, content_type, body = server.respond(url.path, fields, method="POST", document=document)
                server._record(url.path, status, ip=(fields.get("ips") or [None])[0])
                self._answer(status, content_type, body)

            def do_PUT(self) -> None:
                self._without_body("PUT")

            def do_DELETE(self) -> None:
                self._without_body("DELETE")

            def _without_body(self, method: str) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, content_type, body = server.respond(url.path, parse_qs(url.query), method=method)
                server._record(url.path, status)
                self._answer(status, content_type, body)

        return Handler


def take_fault(
    faults: dict[str | None, Fault], lock: threading.Lock, ip: str | None, endpoint: str | None
) -> str | None:
    """The fault to inject into this answer (the IP's first, then a global one), counted down."""
    with lock:
        for scope in (ip, None):
            fault = faults.get(scope)
            if fault is None or fault.endpoint not in (None, endpoint):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del faults[scope]
            return fault.kind
    return None


class JsonAnswers(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, content_type: str, body: str) -> None:
        payload = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout fault)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry the key; keep them out of any log


def internetdb_document(host: dict[str, Any]) -> dict[str, Any]:
    """InternetDB's summary of a host the index holds: its ports and tags (Shodan's own), its
    hostnames, the CPEs of its banners, no vulnerability (a Conpot banner names no CVE)."""
    banners = [b for b in host.get("data") or [] if isinstance(b, dict)]
    cpes = sorted({c for b in banners for c in (b.get("cpe23") or b.get("cpe") or []) if isinstance(c, str)})
    return {
        "cpes": cpes,
        "hostnames": list(host.get("hostnames") or []),
        "ip": host.get("ip_str"),
        "ports": sorted({int(p) for p in host.get("ports") or [b.get("port") for b in banners] if p is not None}),
        "tags": sorted(host.get("tags") or []),
        "vulns": sorted(host.get("vulns") or []),
    }


def _watches(alert: dict[str, Any], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(n, strict=False) for n in alert.get("filters", {}).get("ip", []))


def _scanned_host(ip: str, at: datetime) -> dict[str, Any]:
    """What a finished scan of a Conpot honeypot puts in the index: its default template's
    banners, timestamped at the scan (the local cloud's scenario renders them)."""
    host = render_host(ip, Profile(kind="indexed", banner_age_hours=0.0), at, at)
    assert host is not None  # an indexed profile always renders
    return host


_API_INFO = {
    "scan_credits": 100,
    "usage_limits": {"scan_credits": 100, "query_credits": 100, "monitored_ips": 16},
    "plan": "dev",
    "https": False,
    "unlocked": True,
    "query_credits": 100,
    "monitored_ips": 0,
    "unlocked_left": 100,
    "telnet": False,
}
