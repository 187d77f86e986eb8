"""Loading the YAML files that ops staff edit, with errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

Loc = tuple[str | int, ...]


class ConfigError(Exception):
    """One or more problems in files that ops edit; each line names file:line: field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _lines(node: yaml.Node, loc: Loc, out: dict[Loc, int], dupes: list[tuple[Loc, int]]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:  # PyYAML would silently keep the last one
                dupes.append(((*loc, key.value), key.start_mark.line + 1))
            seen.add(key.value)
            _lines(value, (*loc, key.value), out, dupes)
            out[(*loc, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*loc, i), out, dupes)


class LocatedYaml:
    """A parsed YAML document that remembers the line of every key and item."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ConfigError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
        self.line_of: dict[Loc, int] = {}
        dupes: list[tuple[Loc, int]] = []
        if node is not None:
            _lines(node, (), self.line_of, dupes)
        if dupes:
            raise ConfigError(
                [
                    f"{path}:{line}: {'.'.join(map(str, loc))}: used twice (a key may appear once)"
                    for loc, line in dupes
                ]
            )

    def where(self, loc: Loc) -> str:
        """`file:line` of the deepest known part of loc."""
        for end in range(len(loc), -1, -1):
            line = self.line_of.get(tuple(loc[:end]))
            if line is not None:
                return f"{self.path}:{line}"
        return str(self.path)

    def problem(self, loc: Loc, message: str) -> str:
        """A problem line naming file, line and field."""
        field = ".".join(str(p) for p in loc) or "(top)"
        return f"{self.where(loc)}: {field}: {message}"

    def validate(self, model: type[M]) -> M:
        """Validate into model; pydantic errors become ConfigError lines."""
        try:
            return model.model_validate(self.data if self.data is not None else {})
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                loc = tuple(err["loc"])
                problems.append(self.problem(loc, err["msg"]))
            raise ConfigError(problems) from exc


def load_model(path: Path, model: type[M]) -> M:
    """Read, parse and validate one file."""
    return LocatedYaml(path).validate(model)
