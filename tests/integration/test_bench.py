"""The benchmark's own machinery (make bench prints the figures; this checks they are measured)."""

from __future__ import annotations

from localcloud.bench import PushFigures, bench_sweep, cold_start, monthly_cost, render, render_push


def test_a_small_bench_sweep_measures_what_the_issue_asks():
    figures = bench_sweep(6, 50.0)
    assert figures.status == "SUCCEEDED"
    # A not-indexed IP costs exactly one answered Shodan request; the honeyscore only for indexed
    # ones. At 50 request/s on a busy 2-core machine a request can meet the limit: it is retried.
    assert figures.requests_per_verdict == {"FINGERPRINTED": 2, "INDEXED": 2, "NOT_INDEXED": 1}
    # A new stack's first sweep puts the Shodan alert on its IPs: api-info, notifier, alert, triggers,
    # notifier attached (a sync retried after a 429 asks api-info again).
    assert 5 <= figures.alert_requests <= 5 + figures.rate_limited
    assert figures.shodan_requests == 6 + 2 + figures.alert_requests + figures.rate_limited
    # Two checks per IP (Shodan's API, InternetDB), list, list the IPs to monitor, sync the alert,
    # summarize; a 429 is invoked again.
    assert 2 * 6 + 4 <= figures.invocations <= 2 * 6 + 4 + figures.rate_limited
    # The slower engine sets the floor: InternetDB's second opinion at its own 1 request/s, here.
    assert figures.internetdb_requests == 6
    floor = max((6 + figures.alert_requests) / 50, 6 / 1)
    assert figures.floor_s == round(floor, 2) and figures.target_s == round(1.10 * floor, 2)
    assert figures.wall_s >= 5 * 1.03  # six InternetDB requests, started a paced interval apart
    assert figures.transitions <= 6 * 6 + 16  # at most 6 states per IP's iteration, and the sweep's own
    assert figures.history_events > figures.transitions and figures.largest_state_bytes > 0
    month = monthly_cost(figures)
    assert month["total"] == round(sum(v for k, v in month.items() if k != "total"), 2)
    assert 10 < month["total"] < 20  # one on-demand honeypot dominates: see README's cost table
    cold = cold_start(runs=1)
    assert set(cold["handlers"]) == {
        "list_honeypot_ips",
        "shodan_lookup",
        "internetdb_lookup",
        "summarize_sweep",
        "track_rotation",
        "request_shodan_scan",
        "shodan_webhook",
        "sync_shodan_alert",
    }
    assert all(h["import_s"] > 0 for h in cold["handlers"].values())
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
