"""The scheduled report's pieces (research/weekly.py): its window, its keys, its subject, the
link's true expiry and its settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_honeynet.research import scenario
from ics_honeynet.research.report import run_report
from ics_honeynet.research.weekly import (
    LINK_SECONDS_MAX,
    SUBJECT_MAX,
    WeeklyReportError,
    WeeklySettings,
    link_expiry,
    report_prefix,
    subject,
    window,
)

ENV = {"EXPOSURE_TABLE": "t", "RESEARCH_BUCKET": "b", "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t",
       "REPORT_LINK_ROLE_ARN": "arn:aws:iam::1:role/link"}  # fmt: skip


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
       st.integers(1, 90))  # fmt: skip
def test_the_window_is_whole_hours_ending_at_the_run(now, days):
    since, until = window(now, days)
    assert until <= now < until + timedelta(hours=1) and until.minute == until.second == until.microsecond == 0
    assert until - since == timedelta(days=days)
    assert report_prefix(until).startswith("reports/") and report_prefix(until).endswith("Z/")


def test_the_link_dies_with_its_session_when_that_comes_first():
    url = "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261130T010000Z&X-Amz-Expires=3600"
    signed = datetime(2026, 11, 30, 1, tzinfo=UTC)
    assert link_expiry(url, signed + timedelta(hours=5)) == signed + timedelta(hours=1)
    assert link_expiry(url, signed + timedelta(minutes=20)) == signed + timedelta(minutes=20)
    with pytest.raises(WeeklyReportError, match="Signature Version 4"):
        link_expiry("https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Signature=s&Expires=1", signed)


def test_settings_refuse_a_link_longer_than_a_chained_session_or_missing_names():
    assert WeeklySettings.from_environment(ENV).link_seconds == LINK_SECONDS_MAX == 3600
    with pytest.raises(WeeklyReportError, match="900-3600"):
        WeeklySettings.from_environment({**ENV, "REPORT_LINK_SECONDS": "7200"})
    with pytest.raises(WeeklyReportError, match="RESEARCH_BUCKET"):
        WeeklySettings.from_environment({k: v for k, v in ENV.items() if k != "RESEARCH_BUCKET"})


def test_the_subject_is_the_headline_in_ascii_under_snss_limit():
    s = scenario.generate(scenario.default_spec(), seed=1)
    report = run_report(s.lines(), s.tenures, since=s.since, until=s.until, resolver=s.resolver)
    text = subject(report)
    assert text.startswith("ICS honeynet weekly report: ") and "after first indexed (95% CI " in text
    assert len(text) <= SUBJECT_MAX and text.isascii() and "\n" not in text
    empty = run_report([], [], since=s.since, until=s.until, resolver=s.resolver)
    assert subject(empty) == "ICS honeynet weekly report: no estimate yet"
