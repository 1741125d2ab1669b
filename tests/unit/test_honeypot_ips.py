"""Pure domain of list_honeypot_ips: tasks and ENIs to public IPs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ics_honeynet.honeypot_ips import (
    HoneypotIp,
    Listing,
    Skipped,
    add_extra_ips,
    assemble,
    chunks,
    eni_of,
    iso_utc,
    only_ip,
    started_after,
)


def task(n: int, status: str = "RUNNING", eni: str | None = "eni-1", started: object = None) -> dict:
    attachments = []
    if eni:
        attachments = [{"type": "ElasticNetworkInterface", "details": [{"name": "networkInterfaceId", "value": eni}]}]
    return {
        "taskArn": f"arn:aws:ecs:us-east-1:1:task/c/{n}",
        "lastStatus": status,
        "attachments": attachments,
        "startedAt": started or datetime(2026, 11, 24, 10, n, tzinfo=UTC),
    }


def eni(ip: str | None) -> dict:
    return {"NetworkInterfaceId": "x", **({"Association": {"PublicIp": ip}} if ip else {})}


def test_running_tasks_with_public_ips_are_listed_oldest_first():
    listing = assemble(
        "c",
        "s",
        [task(2, eni="eni-2"), task(1, eni="eni-1")],
        {"eni-1": eni("198.51.100.1"), "eni-2": eni("198.51.100.2")},
    )
    assert [i.ip for i in listing.ips] == ["198.51.100.1", "198.51.100.2"]
    assert listing.ips[0].started_at == "2026-11-24T10:01:00+00:00"
    assert listing.skipped == []


@pytest.mark.parametrize(
    ("the_task", "interfaces", "reason"),
    [
        (task(1, status="PROVISIONING"), {}, "task is PROVISIONING, not RUNNING"),
        (task(1, eni=None), {}, "no network interface attached yet"),
        (task(1), {"eni-1": eni(None)}, "network interface eni-1 has no public IP yet"),
        (task(1), {"eni-1": None}, "network interface eni-1 not found"),
        (task(1), {}, "network interface eni-1 not found"),
    ],
)
def test_tasks_that_are_not_ready_are_skipped_with_a_reason(the_task, interfaces, reason):
    listing = assemble("c", "s", [the_task], interfaces)
    assert listing.ips == []
    assert [s.reason for s in listing.skipped] == [reason]
    assert listing.to_json()["skipped"] == [{"taskArn": the_task["taskArn"], "reason": reason}]


def test_a_malformed_public_ip_is_an_error_not_a_honeypot():
    with pytest.raises(ValueError):
        assemble("c", "s", [task(1)], {"eni-1": eni("not-an-ip")})


def test_a_duplicate_ip_is_checked_once_and_the_other_task_reported():
    listing = assemble("c", "s", [task(2, eni="b"), task(1, eni="a")], {"a": eni("192.0.2.1"), "b": eni("192.0.2.1")})
    [kept] = listing.ips
    assert kept.task_arn.endswith("/1")  # the oldest task keeps the IP
    assert [s.to_json() for s in listing.skipped] == [
        {"taskArn": task(2)["taskArn"], "reason": f"public IP 192.0.2.1 also on task {kept.task_arn}"}
    ]


def test_timestamps_are_utc_iso():
    berlin = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2026, 11, 24, 11, 0, tzinfo=berlin)) == "2026-11-24T10:00:00+00:00"
    assert iso_utc("2026-11-24T10:00:00Z") == "2026-11-24T10:00:00+00:00"
    assert iso_utc(datetime(2026, 11, 24, 10, 0)) == "2026-11-24T10:00:00+00:00"  # naive means UTC
    assert iso_utc(None) is None


def test_eni_and_chunks():
    assert eni_of({"attachments": [{"type": "Other", "details": []}]}) is None
    assert eni_of(task(1, eni="eni-9")) == "eni-9"
    assert list(chunks([str(i) for i in range(250)], 100))[-1] == [str(i) for i in range(200, 250)]


def test_extra_ips_are_parsed_and_invalid_ones_kept_as_skipped():
    from ics_honeynet.honeypot_ips import parse_extra_ips

    ips, invalid = parse_extra_ips(" 198.51.100.77, 2001:db8::5 198.51.100.77,,not-an-ip")
    assert ips == ["198.51.100.77", "2001:db8::5"]
    assert [s.to_json() for s in invalid] == [
        {"taskArn": "extra:not-an-ip", "reason": "not an IP address: 'not-an-ip'"}
    ]
    assert parse_extra_ips("") == ([], [])


def test_extra_ips_join_the_listing_without_a_task():
    from ics_honeynet.honeypot_ips import add_extra_ips

    listing = assemble("c", "s", [task(1)], {"eni-1": eni("192.0.2.1")})
    add_extra_ips(listing, ["198.51.100.77", "192.0.2.1"], [])
    assert [(i.ip, i.task_arn) for i in listing.ips] == [("192.0.2.1", task(1)["taskArn"]), ("198.51.100.77", None)]
    assert listing.to_json()["ips"][1] == {"ip": "198.51.100.77", "taskArn": None, "startedAt": None, "eni": None}


def test_a_rotation_lists_only_tasks_started_since_its_stop():
    listing = Listing(
        "c",
        "s",
        [
            HoneypotIp("192.0.2.1", "arn:old", "2026-11-25T01:00:00+00:00", "eni-1"),
            HoneypotIp("192.0.2.2", "arn:new", "2026-11-25T01:05:00.500000+00:00", "eni-2"),
            HoneypotIp("198.51.100.7", None, None, None),  # an extra IP: never a replacement
        ],
    )
    assert [i.ip for i in started_after(listing, "2026-11-25T01:05:00Z").ips] == ["192.0.2.2"]
    assert [i.ip for i in started_after(listing, "2026-11-25T01:05:00").ips] == ["192.0.2.2"]  # UTC
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        started_after(listing, "yesterday")


# -- the sweep's Map items ----------------------------------------------------------------------
def test_a_sweep_listing_carries_one_small_map_item_per_ip():
    listing = assemble("c", "s", [task(1, eni="eni-1")], {"eni-1": {"Association": {"PublicIp": "198.51.100.1"}}})
    listing.skipped.extend(Skipped(f"arn:task/{n}", "starting") for n in range(60))
    out = listing.sweep_json("targets/sweep-1.json")
    [item] = out["targets"]
    assert set(item) == {"ip", "taskArn", "startedAt"}  # the iteration's input: no ENI, nothing else
    assert item["ip"] == "198.51.100.1" and out["count"] == 1 and out["targetsKey"] == "targets/sweep-1.json"
    assert out["skippedCount"] == 60 and len(out["skipped"]) == 50  # all 60 are in the targets document


def test_a_targeted_sweep_lists_only_the_honeypot_holding_the_ip():
    tasks = [task(1, eni="eni-1"), task(2, eni="eni-2")]
    listing = assemble("c", "s", tasks, {"eni-1": eni("1.2.3.4"), "eni-2": eni("5.6.7.8")})
    listing = add_extra_ips(listing, ["2001:db8::7"], [])
    assert [i.task_arn for i in only_ip(listing, "5.6.7.8").ips] == [tasks[1]["taskArn"]]
    assert [i.ip for i in only_ip(listing, "2001:DB8:0::7").ips] == ["2001:db8::7"]  # compared normalised
    assert only_ip(listing, "9.9.9.9").ips == [] and only_ip(listing, "9.9.9.9").skipped == []
    with pytest.raises(ValueError, match="targetIp"):
        only_ip(listing, "not-an-ip")


def test_a_task_without_started_at_is_dated_by_created_at_or_skipped():
    created = task(1) | {"startedAt": None, "createdAt": datetime(2026, 11, 24, 9, 0, tzinfo=UTC)}
    bare = task(2, eni="eni-2") | {"startedAt": None}
    listing = assemble("c", "s", [created, bare], {"eni-1": eni("198.51.100.1"), "eni-2": eni("198.51.100.2")})
    assert [(i.ip, i.started_at) for i in listing.ips] == [("198.51.100.1", "2026-11-24T09:00:00+00:00")]
    assert listing.skipped == [Skipped(bare["taskArn"], "task has no startedAt yet")]


def test_the_services_setting_names_each_service_with_its_template():
    from ics_honeynet.honeypot_ips import parse_services

    assert parse_services("default=svc-a, ipmi=svc-b") == {"svc-a": "default", "svc-b": "ipmi"}
    with pytest.raises(ValueError, match="'svc-c' is not template=service"):
        parse_services("default=svc-a,svc-c")


def test_several_services_make_one_listing_in_start_order_each_ip_once():
    from ics_honeynet.honeypot_ips import HoneypotIp, Listing, merge_listings

    a = Listing("c", "svc-a", [HoneypotIp("192.0.2.1", "t/1", "2026-11-01T00:02:00Z", "eni-1", "default")])
    b = Listing(
        "c",
        "svc-b",
        [
            HoneypotIp("192.0.2.2", "t/2", "2026-11-01T00:01:00Z", "eni-2", "ipmi"),
            HoneypotIp("192.0.2.1", "t/3", "2026-11-01T00:03:00Z", "eni-3", "ipmi"),  # a stale association
        ],
    )
    merged = merge_listings("c", [a, b])
    assert merged.service == "svc-a,svc-b"
    assert [(i.ip, i.template) for i in merged.ips] == [("192.0.2.2", "ipmi"), ("192.0.2.1", "default")]
    assert [(s.task_arn, s.reason) for s in merged.skipped] == [("t/3", "public IP 192.0.2.1 also on task t/1")]
    assert merged.to_json()["ips"][0]["template"] == "ipmi"


def test_a_listing_in_whole_with_every_reason_to_skip():
    tasks = [
        task(1, status="PROVISIONING"),
        task(2) | {"lastStatus": None},
        task(3, eni=None),
        task(6, eni="eni-gone"),
        task(7, eni="eni-7"),
        task(8, eni="eni-8") | {"startedAt": None},
        task(4, eni="eni-4"),
        task(5, eni="eni-5") | {"startedAt": datetime(2026, 11, 24, 10, 4, tzinfo=UTC)},  # a tie: by IP
    ]
    interfaces = {"eni-4": eni("198.51.100.9"), "eni-5": eni("198.51.100.2"), "eni-gone": None, "eni-7": eni(None),
                  "eni-8": eni("198.51.100.8")}  # fmt: skip
    listing = assemble("c", "s", tasks, interfaces)
    arn = "arn:aws:ecs:us-east-1:1:task/c/"
    assert listing.to_json() == {
        "cluster": "c",
        "service": "s",
        "ips": [
            {
                "ip": "198.51.100.2",
                "taskArn": f"{arn}5",
                "startedAt": "2026-11-24T10:04:00+00:00",
                "eni": "eni-5",
                "service": "s",
            },
            {
                "ip": "198.51.100.9",
                "taskArn": f"{arn}4",
                "startedAt": "2026-11-24T10:04:00+00:00",
                "eni": "eni-4",
                "service": "s",
            },
        ],
        "skipped": [
            {"taskArn": f"{arn}1", "reason": "task is PROVISIONING, not RUNNING"},
            {"taskArn": f"{arn}2", "reason": "task is in an unknown state, not RUNNING"},
            {"taskArn": f"{arn}3", "reason": "no network interface attached yet"},
            {"taskArn": f"{arn}6", "reason": "network interface eni-gone not found"},
            {"taskArn": f"{arn}7", "reason": "network interface eni-7 has no public IP yet"},
            {"taskArn": f"{arn}8", "reason": "task has no startedAt yet"},
        ],
    }
    assert listing.targets_document() == {"targets": listing.to_json()["ips"], "skipped": listing.to_json()["skipped"]}
    assert listing.sweep_json("targets/s.json") == {
        "cluster": "c",
        "service": "s",
        "count": 2,
        "targetsKey": "targets/s.json",
        "targets": [{k: i[k] for k in ("ip", "taskArn", "startedAt")} for i in listing.to_json()["ips"]],
        "skippedCount": 6,
        "skipped": listing.to_json()["skipped"],
    }


def test_the_network_interface_is_read_from_the_first_matching_detail():
    details = [
        {"name": "subnetId", "value": "subnet-1"},
        {"name": "networkInterfaceId", "value": ""},
        {"name": "networkInterfaceId", "value": "eni-2"},
    ]
    attached = {"type": "ElasticNetworkInterface", "details": details}
    assert eni_of({"attachments": [{"type": "Other", "details": [{"name": "networkInterfaceId", "value": "x"}]},
                                   attached]}) == "eni-2"  # fmt: skip
    assert eni_of({"attachments": None}) is None and eni_of({}) is None


def test_a_rotation_lists_tasks_started_at_or_after_the_stop_and_keeps_the_rest():
    skipped = [Skipped("arn:task/starting", "no public IP yet")]
    at_the_stop = HoneypotIp("192.0.2.2", "arn:new", "2026-11-25T01:05:00+00:00", "eni-2")
    listing = Listing("c", "s", [at_the_stop], skipped)
    assert started_after(listing, "2026-11-25T01:05:00+00:00") == Listing("c", "s", [at_the_stop], skipped)
    with pytest.raises(ValueError) as refused:
        started_after(listing, "x" * 100)
    assert str(refused.value) == f"startedAfter is not an ISO 8601 time: {'x' * 64!r}"


def test_an_invalid_extra_ip_is_kept_with_its_first_64_characters_and_the_rest_still_read():
    from ics_honeynet.honeypot_ips import parse_extra_ips

    long = "h" * 100
    ips, invalid = parse_extra_ips(f"{long} 198.51.100.1")
    assert ips == ["198.51.100.1"]
    assert [s.to_json() for s in invalid] == [
        {"taskArn": f"extra:{'h' * 64}", "reason": f"not an IP address: {'h' * 64!r}"}
    ]
