"""Quality sampling (质检): the weighted score, the daily sample and the monthly average,
against hand-computed figures; the form ops edit, checked with file, line and field."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from acd.quality import (
    Form,
    FormItem,
    RecordedCall,
    SheetError,
    check_sheet,
    draw,
    monthly,
    overall,
    sample_size,
    weighted_score,
)
from acd.quality_config import QualityConfig, load_quality
from hotline.config_files import ConfigError
from hotline.instance import load_center

SHIPPED = Path(__file__).parents[2] / "dialplan"
FORM = Form(
    (
        FormItem("greeting", 10, 1),
        FormItem("accuracy", 40, 5),
        FormItem("policy", 30, 5),
        FormItem("manners", 20, 5),
    )
)


def test_the_score_weighs_each_item_on_its_own_scale() -> None:
    # greeting passed 10; accuracy 4/5 of 40 = 32; policy 5/5 of 30 = 30; manners 3/5 of 20 = 12
    sheet = check_sheet(FORM, {"greeting": 1, "accuracy": 4, "policy": 5, "manners": 3})
    assert weighted_score(FORM, sheet) == 84.0
    # greeting failed 0; 3/5 of 40 = 24; 2/5 of 30 = 12; 5/5 of 20 = 20
    sheet = check_sheet(FORM, {"greeting": 0, "accuracy": 3, "policy": 2, "manners": 5})
    assert weighted_score(FORM, sheet) == 56.0
    assert weighted_score(FORM, {"greeting": 1, "accuracy": 5, "policy": 5, "manners": 5}) == 100
    # Weights adding up to 3, not 100: 100 × (1 × 1/1 + 2 × 1/3) / 3 = 55.555… → 55.56
    odd = Form((FormItem("a", 1, 1), FormItem("b", 2, 3)))
    assert weighted_score(odd, {"a": 1, "b": 1}) == 55.56


def test_a_sheet_that_does_not_fit_the_form_is_refused() -> None:
    full = {"greeting": 1, "accuracy": 4, "policy": 5, "manners": 3}
    for given, error_id in (
        ({k: v for k, v in full.items() if k != "policy"}, "missing_item"),
        ({**full, "smile": 1}, "unknown_item"),
        ({**full, "greeting": 2}, "bad_points"),  # pass/fail is 0 or 1
        ({**full, "accuracy": -1}, "bad_points"),
        ({**full, "accuracy": 4.5}, "bad_points"),
        ({**full, "accuracy": "4"}, "bad_points"),
        ({**full, "greeting": True}, "bad_points"),
    ):
        with pytest.raises(SheetError) as err:
            check_sheet(FORM, given)
        assert err.value.error_id == error_id, given


def test_the_sample_size_is_the_share_rounded_up_with_a_floor() -> None:
    assert sample_size(20, 0.05, 1) == 1  # 0.05 × 20 is 1.0000000000000002 in floating point
    assert sample_size(21, 0.05, 1) == 2  # 1.05 → 2
    assert sample_size(100, 0.05, 1) == 5
    assert sample_size(3, 0.05, 1) == 1  # 0.15 → 1
    assert sample_size(3, 0.05, 5) == 3  # never more than there are
    assert sample_size(0, 0.05, 1) == 0  # no recorded call, no sample
    assert sample_size(40, 0.05, 0) == 2
    assert sample_size(7, 1.0, 1) == 7


def calls(agent: str, first: int, count: int) -> list[RecordedCall]:
    return [RecordedCall(n, agent, f"c{n}") for n in range(first, first + count)]


def test_the_daily_sample_is_reproducible_from_its_seed_and_per_agent() -> None:
    day = calls("1001", 1, 40) + calls("1002", 100, 3) + calls("1003", 200, 1)
    sample = draw(day, 0.05, 1, "seed-2026-12-01")
    by_agent = {a: [c.recording for c in sample if c.agent == a] for a in ("1001", "1002", "1003")}
    assert {a: len(r) for a, r in by_agent.items()} == {"1001": 2, "1002": 1, "1003": 1}
    assert by_agent["1003"] == [200]
    # The same seed and calls give the same choice, in any order the calls come in; it is
    # pinned: a change of algorithm would make past days' samples unreproducible.
    assert draw(list(reversed(day)), 0.05, 1, "seed-2026-12-01") == sample
    assert by_agent["1001"] == [9, 24] and by_agent["1002"] == [101]
    # One agent's calls do not change another's choice.
    alone = draw(calls("1001", 1, 40), 0.05, 1, "seed-2026-12-01")
    assert [c.recording for c in alone] == by_agent["1001"]
    # Another seed, another choice (of 40 calls, 2 at random: 780 pairs).
    other = draw(day, 0.05, 1, "seed-2026-12-02")
    assert [c.recording for c in other if c.agent == "1001"] != by_agent["1001"]


def test_scores_per_agent_per_month_count_in_the_month_of_the_call() -> None:
    rows = [
        ("1001", dt.date(2026, 11, 30), 84.0),
        ("1001", dt.date(2026, 11, 2), 56.0),
        ("1001", dt.date(2026, 11, 3), None),  # drawn, not scored yet
        ("1001", dt.date(2026, 12, 1), 90.0),
        ("1002", dt.date(2026, 12, 1), 75.5),
        ("1002", dt.date(2026, 12, 2), 80.0),
    ]
    table = monthly(rows)
    nov = table["1001"]["2026-11"]
    assert (nov.samples, nov.scored, nov.average) == (3, 2, 70.0)  # (84 + 56) / 2
    assert table["1001"]["2026-12"].average == 90.0
    assert table["1002"]["2026-12"].average == 77.75  # (75.5 + 80) / 2
    whole = overall(table["1001"])
    assert (whole.samples, whole.scored, whole.average) == (4, 3, 76.67)  # 230 / 3
    assert monthly([("1003", dt.date(2026, 12, 1), None)])["1003"]["2026-12"].average is None


def test_the_shipped_form_and_a_broken_one(tmp_path: Path) -> None:
    shipped = load_quality(SHIPPED)
    assert shipped == QualityConfig()  # the file says what the defaults are
    assert [(i.item, i.weight, i.points) for i in shipped.form().items] == [
        (i.item, i.weight, i.points) for i in FORM.items
    ]
    assert shipped.share == 0.05 and shipped.minimum_per_agent == 1
    (tmp_path / "quality.yaml").write_text(
        "share: 1.5\nitems:\n  greeting: {zh: 问候, en: Greeting, weight: 0}\n"
        "  Bad-Name: {zh: 坏, en: Bad, weight: 10}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_quality(tmp_path)
    text = str(err.value)
    assert "quality.yaml:1: share: Input should be less than or equal to 1" in text
    assert "quality.yaml:3: items.greeting.weight: Input should be greater than or equal to 1" in (
        text
    )
    (tmp_path / "quality.yaml").write_text("items:\n  Bad-Name: {zh: 坏, en: Bad, weight: 10}\n")
    with pytest.raises(
        ConfigError, match=r"quality.yaml:2: items.Bad-Name.\[key\]: String should match"
    ):
        load_quality(tmp_path)
    (tmp_path / "quality.yaml").write_text("items: {}\n")
    with pytest.raises(ConfigError, match=r"quality.yaml:1: items: .*at least 1"):
        load_quality(tmp_path)


def test_config_check_reads_the_quality_file(tmp_path: Path) -> None:
    """`hotline config check` and `config apply` go through load_center: a broken form is
    refused there with the others' problems, and the shipped one is what the center gets."""
    config_dir = tmp_path / "dialplan"
    shutil.copytree(SHIPPED, config_dir)
    assert load_center(config_dir).quality == load_quality(SHIPPED)
    (config_dir / "quality.yaml").write_text("share: 0\n")
    with pytest.raises(ConfigError) as err:
        load_center(config_dir)
    assert err.value.problems == [
        f"{config_dir / 'quality.yaml'}:1: share: Input should be greater than 0"
    ]
