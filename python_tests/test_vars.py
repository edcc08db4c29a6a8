"""Threshold vars are checked when the models compile: a value that is not a number, not
greater than 0, or (for counts of events and days) not a whole number fails the build with
a message naming the var, instead of giving meaningless sessions and stages."""

from __future__ import annotations

import pytest

from harness import HARNESS_VARS, build_scenario
from sbdk.project import BuildError


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("session_timeout_minutes", -5, "must be greater than 0, got '-5'"),
        ("max_session_duration_hours", 0, "must be greater than 0, got '0'"),
        ("active_user_min_days", 2.5, "must be a whole number greater than 0, got '2.5'"),
        ("dormant_after_days", "thirty", "must be a whole number greater than 0, got 'thirty'"),
        ("min_order_amount", "0", "must be greater than 0, got '0'"),
        ("high_value_customer_threshold", "1e3", "must be a number greater than 0, got '1e3'"),
    ],
)
def test_bad_threshold_fails_naming_the_var(dbt_projects, name: str, value: object, message: str) -> None:
    # dbt renders the models while parsing: the project does not even parse
    with pytest.raises(BuildError) as failure:
        dbt_projects({**HARNESS_VARS, name: value})
    assert f"sbdk: var '{name}' {message}" in str(failure.value)


def test_good_thresholds_build(dbt_projects, engine) -> None:
    project = dbt_projects({**HARNESS_VARS, "session_timeout_minutes": 0.5, "active_user_min_days": "+3",
                            "min_order_amount": "0.5"})
    scenario = build_scenario(project, engine, {})
    assert not scenario.outcome.errors, [str(e) for e in scenario.outcome.errors]
