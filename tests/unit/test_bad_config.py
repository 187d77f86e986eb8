"""Broken config files ops might save: each is a ConfigError naming the file, never a crash.

`hotline config check` and `config apply` (locally and in the controller) all go through
load_center, so a file refused here never replaces the running config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotline import REPO_ROOT
from hotline.config_files import ConfigError
from hotline.instance import load_center

BROKEN: dict[str, bytes] = {
    "not UTF-8": "start: main\nnodes: {main: {prompt: [欢迎]}}\n".encode("gbk"),
    "a list, not a mapping": b"- start\n- main\n",
    "a scalar": b"just words\n",
    "empty": b"",
    "infinite timeout": b"start: main\nnodes: {main: {prompt: [welcome], timeout: .inf,"
    b" options: {'0': {hangup: true}}}}\n",
    "NaN": b"start: main\nnodes: {main: {prompt: [welcome], timeout: .nan,"
    b" options: {'0': {hangup: true}}}}\n",
    "huge number": b"start: main\nnodes: {main: {prompt: [welcome], retries: 1e400,"
    b" options: {'0': {hangup: true}}}}\n",
    "huge integer": b"start: main\nnodes: {main: {prompt: [welcome], retries: "
    + b"9" * 400
    + b", options: {'0': {hangup: true}}}}\n",
    "a key that is a list": b"start: main\nnodes:\n  ? [a, b]\n  : {prompt: [welcome]}\n",
    "nested too deeply": b"start: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "billion laughs": b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}]\n".encode()
        for i in range(8)
    ),
    "far too big": b"# " + b"x" * (2 << 20) + b"\n",
}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "dialplan"
    shutil.copytree(REPO_ROOT / "dialplan", target)
    return target


@pytest.mark.parametrize("kind", sorted(BROKEN))
@pytest.mark.parametrize("file", ["menu.yaml", "queues.yaml"])
def test_a_broken_file_is_refused_with_its_name(config_dir: Path, file: str, kind: str) -> None:
    (config_dir / file).write_bytes(BROKEN[kind])
    with pytest.raises(ConfigError) as refused:
        load_center(config_dir)
    assert any(str(config_dir / file) in p for p in refused.value.problems), refused.value


def test_wrap_up_topics_are_checked_with_file_line_and_field(config_dir: Path) -> None:
    assert load_center(config_dir).topics.topics["pension_payment"].zh == "养老金发放"
    (config_dir / "topics.yaml").write_text(
        "topics:\n  pension: {zh: 养老金, en: Pensions}\n  Bad-Code: {zh: 坏}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as refused:
        load_center(config_dir)
    problems = "\n".join(refused.value.problems)
    assert "topics.yaml:3: topics.Bad-Code.en: Field required" in problems
    assert "topics.yaml:3: topics.Bad-Code.[key]: String should match pattern" in problems


def test_config_check_says_what_is_wrong_without_a_traceback(config_dir: Path) -> None:
    (config_dir / "menu.yaml").write_bytes(BROKEN["not UTF-8"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_CONFIG_DIR"] = str(config_dir)
    run = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "config", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "menu.yaml:2: not UTF-8" in run.stderr and "Traceback" not in run.stderr


def test_a_bad_setting_is_refused_without_a_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_SIP_ADDRESS"] = "not-an-address"
    run = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "config", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "sip_address" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "value, says",
    [(".inf", "not a usable number"), (".nan", "not a usable number"), ("1.0e+300", "too large")],
)
def test_numbers_no_field_could_mean_are_refused_where_a_field_has_no_upper_bound(
    config_dir: Path, value: str, says: str
) -> None:
    """max_wait_seconds and priorities only have a lower bound: infinity would be accepted
    and a caller would wait forever, or out-rank every other."""
    queues = config_dir / "queues.yaml"
    text = queues.read_text()
    broken = text.replace("    strategy: longest_idle\n", f"    max_wait_seconds: {value}\n", 1)
    broken = broken.replace("  senior: 10\n", f"  senior: {value}\n", 1)
    assert broken != text
    queues.write_text(broken)
    with pytest.raises(ConfigError) as refused:
        load_center(config_dir)
    problems = refused.value.problems
    lines = broken.splitlines()
    wait_line = lines.index(f"    max_wait_seconds: {value}") + 1
    senior_line = lines.index(f"  senior: {value}") + 1
    assert any(
        f"{queues}:{wait_line}: queues.general.max_wait_seconds: " in p and says in p
        for p in problems
    )
    assert any(f"{queues}:{senior_line}: priorities.senior: " in p and says in p for p in problems)
