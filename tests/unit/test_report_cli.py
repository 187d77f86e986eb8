"""`hotline report`'s options are checked like the HTTP API's before any database is read."""

from __future__ import annotations

import argparse

import pytest

from hotline.reports_cli import register


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hotline")
    commands = top.add_subparsers(dest="command")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--instance", default="dev")
        return sub

    register(add)
    return top


@pytest.mark.parametrize(
    "option",
    [
        ["--target", "1"],
        ["--target", "0"],
        ["--target", "nan"],
        ["--target", "many"],
        ["--seconds", "-5"],
        ["--sl-seconds", "0"],
        ["--short-abandon-seconds", "-1"],
    ],
)
def test_a_staffing_option_out_of_bounds_is_refused_with_a_reason(
    option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["report", "staffing", "--month", "2026-12", *option])
    assert exited.value.code == 2
    assert "must be" in capsys.readouterr().err


def test_staffing_options_within_bounds_are_taken() -> None:
    args = parser().parse_args(
        ["report", "staffing", "--month", "2026-12", "--target", "0.999", "--seconds", "60"]
    )
    assert (args.target, args.seconds) == (0.999, 60)
