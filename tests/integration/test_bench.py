"""The benchmark's own machinery (make bench prints the figures; this checks they are measured)."""

from __future__ import annotations

from localcloud.bench import bench_sweep, cold_start, monthly_cost, render, render_report, report_run


def test_a_small_bench_sweep_measures_what_the_issue_asks():
    figures = bench_sweep(6, 50.0)
    assert figures.status == "SUCCEEDED"
    # A not-indexed IP costs exactly one answered Shodan request; the honeyscore only for indexed
    # ones. At 50 request/s on a busy 2-core machine a request can meet the limit: it is retried.
    assert figures.requests_per_verdict == {"FINGERPRINTED": 2, "INDEXED": 2, "NOT_INDEXED": 1}
    assert figures.shodan_requests == 6 + 2 + figures.rate_limited
    # One check per IP, list and summarize; a check Shodan answered 429 is invoked again.
    assert 6 + 2 <= figures.invocations <= 6 + 2 + figures.rate_limited
    assert figures.floor_s == 6 / 50 and figures.target_s == round(1.10 * 6 / 50, 2) and figures.wall_s > 0
    assert figures.transitions <= 4 * 6 + 12  # at most 4 states per IP's iteration, and the sweep's own
    assert figures.history_events > figures.transitions and figures.largest_state_bytes > 0
    month = monthly_cost(figures)
    assert month["total"] == round(sum(v for k, v in month.items() if k != "total"), 2)
    assert 10 < month["total"] < 20  # one on-demand honeypot dominates: see README's cost table
    cold = cold_start(runs=1)
    assert set(cold["handlers"]) == {
        "list_honeypot_ips",
        "shodan_lookup",
        "summarize_sweep",
        "track_rotation",
        "request_shodan_scan",
        "weekly_report",
    }
    assert all(h["import_s"] > 0 for h in cold["handlers"].values())
    text = "\n".join(render([figures], cold))
    assert "NOT_INDEXED" in text and "per sweep" in text and "x boto3" in text


def test_the_scheduled_reports_figures_are_measured_in_a_fresh_interpreter():
    figures = report_run(days=2, honeypots=2, per_day=3000)
    assert 6000 < figures["records"] < 24000  # 2 days x 2 honeypots x ~3,000 a day (a day's level varies)
    assert figures["import_s"] > 0 and figures["report_s"] > 0 and figures["outputs_s"] > 0
    assert 50 < figures["max_rss_mb"] < figures["memory_mb"] == 1024 and figures["timeout_s"] == 300
    assert figures["package_mib"] + figures["layer_mib"] < figures["limit_mib"] == 250
    text = "\n".join(render_report(figures))
    assert "peak memory" in text and "of Lambda's 250 MiB" in text
