"""Ops' editor, its pure parts: the diff shown before applying, conflicts with a hand edit,
and validation problems placed at the file's line and field."""

from __future__ import annotations

from pathlib import Path

from hotline import REPO_ROOT, config_edit
from hotline.config_edit import (
    Problem,
    check,
    conflicts,
    digest,
    location,
    problem_at,
    unified_diff,
)

MENU = (REPO_ROOT / "dialplan" / "menu.yaml").read_text()


def test_the_diff_shows_the_changed_line_only() -> None:
    proposed = MENU.replace('"1": {goto: selfservice}', '"1": {service: referral}')
    diff = unified_diff("menu.yaml", MENU, proposed)
    assert diff.startswith("--- a/menu.yaml\n+++ b/menu.yaml\n@@ ")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[1:2] != line[:1]]
    assert changed == ['-      "1": {goto: selfservice}', '+      "1": {service: referral}']
    assert unified_diff("menu.yaml", MENU, MENU) == ""
    assert unified_diff("a.yaml", "x: 1\n", "x: 2").endswith(
        "+x: 2\n\\ No newline at end of file\n"
    )


def test_an_edit_made_on_an_older_text_conflicts() -> None:
    loaded = digest(MENU)
    assert not conflicts(MENU, loaded)
    assert conflicts(MENU + "# edited by hand\n", loaded)


def test_a_problem_names_file_line_and_field() -> None:
    folder = Path("/tmp/scratch")
    assert problem_at(
        "/tmp/scratch/menu.yaml:18: nodes.main.options.1: unknown node 'nowhere'", folder
    ) == Problem("menu.yaml", 18, "nodes.main.options.1", "unknown node 'nowhere'")
    assert problem_at("/tmp/scratch/hours.yaml:3: not valid YAML: found x", folder) == Problem(
        "hours.yaml", 3, "", "not valid YAML: found x"
    )


def test_check_uses_the_config_checks_validator_on_the_proposed_text() -> None:
    folder = REPO_ROOT / "dialplan"
    assert check(folder, "menu.yaml", MENU) == []
    broken = MENU.replace('"1": {goto: selfservice}', '"1": {goto: nowhere}')
    found = check(folder, "menu.yaml", broken)[0]  # then: selfservice is now unreachable
    line = broken.splitlines().index('      "1": {goto: nowhere}') + 1
    assert found == Problem(
        "menu.yaml", line, "nodes.main.options.1.goto", "unknown node 'nowhere'"
    )
    assert (folder / "menu.yaml").read_text() == MENU  # nothing written


def test_the_prompts_text_is_checked_with_the_files_that_name_its_prompts() -> None:
    folder = REPO_ROOT / "dialplan"
    prompts = location(folder, "prompts.yaml")
    assert prompts == REPO_ROOT / "sounds" / "prompts.yaml"
    manifest = prompts.read_text()
    assert check(folder, "prompts.yaml", manifest.replace("您好，欢迎", "您好，欢迎您")) == []
    renamed = check(folder, "prompts.yaml", manifest.replace("  menu-main:\n", "  menu-mian:\n"))
    assert [(p.file, p.field) for p in renamed] == [("menu.yaml", "nodes.main.prompt.0")]


def test_every_file_ops_edit_is_in_the_editor() -> None:
    """A file added to dialplan/ is editable from the browser too (with history and audit)."""
    shipped = {p.name for p in (REPO_ROOT / "dialplan").glob("*.yaml")}
    assert shipped <= set(config_edit.EDITABLE), shipped - set(config_edit.EDITABLE)
