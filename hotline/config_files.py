"""Loading the YAML files that ops staff edit, with errors that name file, line and field."""

from __future__ import annotations

import math
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


MAX_BYTES = 1 << 20  # the largest file ops edit is a few kilobytes
MAX_NODES = 100_000  # aliases can make a small file a huge tree ("billion laughs")
MAX_NUMBER = 10**12  # no count, level or duration in these files comes near


class _TooBig(Exception):
    pass


def _lines(
    node: yaml.Node, loc: Loc, out: dict[Loc, int], dupes: list[tuple[Loc, int]], budget: list[int]
) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark)
            if name in seen:  # PyYAML would silently keep the last one
                dupes.append(((*loc, name), key.start_mark.line + 1))
            seen.add(name)
            _lines(value, (*loc, name), out, dupes, budget)
            out[(*loc, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*loc, i), out, dupes, budget)


def _odd_numbers(data: Any, loc: Loc) -> list[tuple[Loc, str]]:
    """Numbers no field accepts sensibly: infinities, NaN, and ones too large to be meant."""
    found: list[tuple[Loc, str]] = []
    if isinstance(data, bool):
        return found
    if isinstance(data, float) and not math.isfinite(data):
        found.append((loc, f"{data} is not a usable number"))
    elif isinstance(data, int | float) and abs(data) > MAX_NUMBER:
        found.append((loc, f"number too large (more than {MAX_NUMBER:.0e})"))
    elif isinstance(data, dict):
        for key, value in data.items():
            found += _odd_numbers(value, (*loc, str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _odd_numbers(value, (*loc, i))
    return found


class LocatedYaml:
    """A parsed YAML document that remembers the line of every key and item."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
        if len(raw) > MAX_BYTES:
            raise ConfigError([f"{path}: {len(raw)} bytes, more than {MAX_BYTES} (not this file?)"])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise ConfigError(
                [f"{path}:{line}: not UTF-8 (byte {exc.start}); save the file as UTF-8"]
            ) from exc
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data: Any = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ConfigError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
        except RecursionError as exc:
            raise ConfigError([f"{path}: nested too deeply"]) from exc
        self.line_of: dict[Loc, int] = {}
        dupes: list[tuple[Loc, int]] = []
        if node is not None:
            try:
                _lines(node, (), self.line_of, dupes, [MAX_NODES])
            except (_TooBig, RecursionError) as exc:
                raise ConfigError(
                    [f"{path}: more than {MAX_NODES} entries once aliases are expanded"]
                ) from exc
        odd = _odd_numbers(self.data, ())
        if odd:
            raise ConfigError([self.problem(loc, message) for loc, message in odd])
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
