"""The benchmark's own machinery (make bench prints the figures; this checks they are measured)."""

from __future__ import annotations

from localcloud.bench import (
    PushFigures,
    bench_sweep,
    cold_start,
    monthly_cost,
    render,
    render_push,
    render_report,
    report_run,
)


def test_a_small_bench_sweep_measures_what_the_issue_asks():
    figures = bench_sweep(6, 50.0)
    assert figures.status == "SUCCEEDED"
    # A not-indexed IP costs exactly one answered Shodan request; the honeyscore only for indexed
    # ones. At 50 request/s on a busy 2-core machine a request can meet the limit: it is retried.
    assert figures.requests_per_verdict == {"FINGERPRINTED": 2, "INDEXED": 2, "NOT_INDEXED": 1}
    # A new stack's first sweep puts the Shodan alert on its IPs: api-info, notifier, the key's alerts
    # (none named like ours), alert, triggers, notifier attached (a sync retried after a 429 asks
    # api-info again).
    assert 6 <= figures.alert_requests <= 6 + figures.rate_limited
    assert figures.shodan_requests == 6 + 2 + figures.alert_requests + figures.rate_limited
    # Two checks per IP (Shodan's API, InternetDB), list, list the IPs to monitor, sync the alert,
    # summarize; a 429 is invoked again.
    assert 2 * 6 + 4 <= figures.invocations <= 2 * 6 + 4 + figures.rate_limited
    # The slower engine sets the floor: InternetDB's second opinion at its own 1 request/s, here.
    assert figures.internetdb_requests == 6
    floor = max((6 + figures.alert_requests) / 50, 6 / 1)
    assert figures.floor_s == round(floor, 2) and figures.target_s == round(1.10 * floor, 2)
    assert figures.wall_s >= 5 * 1.03  # six InternetDB requests, started a paced interval apart
    assert figures.transitions <= 8 * 6 + 16  # at most 8 states per IP's iteration (Censys off: 2), and the sweep's own
    assert figures.history_events > figures.transitions
    # The largest state holds at least the Map's six items ({ip, taskArn, startedAt}: ~200 bytes).
    assert 6 * 150 < figures.largest_state_bytes < 6 * 1024
    month = monthly_cost(figures)
    assert month["total"] == round(sum(v for k, v in month.items() if k != "total"), 2)
    # One on-demand honeypot dominates (README's cost table): 0.25 vCPU and 0.5 GB for 730 hours,
    # its public IPv4 address, the key, half a GB of logs; two sweeps a day cost cents.
    fixed = {"fargate": 9.01, "public_ipv4": 3.65, "kms_key": 1.0, "logs_0.5GB": 0.25}
    assert {k: month[k] for k in fixed} == fixed
    assert month["sweeps"] == round(60 * figures.cost_per_sweep(), 4) < 0.1
    assert figures.cost_per_sweep() >= figures.transitions * 0.000025  # Step Functions' share alone
    cold = cold_start(runs=1)
    assert set(cold["handlers"]) == {
        "list_honeypot_ips",
        "shodan_lookup",
        "internetdb_lookup",
        "censys_lookup",
        "summarize_sweep",
        "track_rotation",
        "request_shodan_scan",
        "shodan_webhook",
        "sync_shodan_alert",
        "weekly_report",
    }
    assert all(h["package_modules"] >= 2 for h in cold["handlers"].values())  # the handler and its domain
    text = "\n".join(render([figures], cold))
    assert "NOT_INDEXED" in text and "per sweep" in text and "x boto3" in text


def test_the_push_figures_are_printed_in_time_order_against_the_goal_and_the_schedule():
    figures = PushFigures("SUCCEEDED", 2, 2, 1, sweep_started_s=0.1, alert_sent_s=33.5, clean_ip_s=32.3,
                          replacement_wait_s=30)  # fmt: skip
    lines = render_push(figures)
    assert figures.meets_goal and "2 accepted (202), 1 sweep(s) started" in lines[1]
    assert [line.split()[0] for line in lines[2:5]] == ["T+0.1", "T+32.3", "T+33.5"]
    assert "within 300 s (met here)" in lines[5] and "43200 s (12 h)" in lines[5]
    late = PushFigures("SUCCEEDED", 2, 2, 1, 0.1, 400.0, 399.0, 30)
    assert not late.meets_goal and "NOT met" in render_push(late)[5]


def test_the_scheduled_reports_figures_are_measured_in_a_fresh_interpreter():
    figures = report_run(days=2, honeypots=2, per_day=3000)
    assert 6000 < figures["records"] < 24000  # 2 days x 2 honeypots x ~3,000 a day (a day's level varies)
    assert figures["import_s"] > 0 and figures["report_s"] > 0 and figures["outputs_s"] > 0
    assert 50 < figures["max_rss_mb"] < figures["memory_mb"] == 1024 and figures["timeout_s"] == 300
    assert figures["package_mib"] + figures["layer_mib"] < figures["limit_mib"] == 250
    text = "\n".join(render_report(figures))
    assert "peak memory" in text and "of Lambda's 250 MiB" in text
