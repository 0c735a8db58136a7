"""YAML files read into pydantic models with every problem located by line and key path.

The journey config (:func:`journeylib.config.load_config`) and the report schedule
(:func:`journeylib.report.schedule.load_schedule`) both load through :func:`read_located_yaml`
and :func:`validate_located`, on models built from :class:`StrictModel`, so both say
``journey.yml: line 7: sources.events.colums: unknown key 'colums' (did you mean 'columns'?)``
the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from journeylib.errors import ConfigError, did_you_mean

__all__ = [
    "KeyLines",
    "StrictModel",
    "key_lines",
    "located_problems",
    "read_located_yaml",
    "validate_located",
]

#: Key path of a YAML document (``("sources", "events", "path")``) -> its 1-based line.
KeyLines = dict[tuple[str, ...], int]
Model = TypeVar("Model", bound=BaseModel)


class StrictModel(BaseModel):
    """Frozen, and every unknown key is an error that lists the allowed keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        allowed = set(cls.model_fields)
        allowed |= {f.alias for f in cls.model_fields.values() if f.alias}
        unknown = [key for key in data if key not in allowed]
        if unknown:
            key = unknown[0]
            raise PydanticCustomError(
                "unknown_key",
                "unknown key '{key}'{suggestion}; allowed keys here: {allowed}",
                {
                    "key": str(key),
                    "suggestion": did_you_mean(str(key), allowed),
                    "allowed": ", ".join(sorted(allowed)),
                },
            )
        return data


def read_located_yaml(
    path: str | os.PathLike[str], *, error: type[ConfigError], top: str
) -> tuple[Path, dict[str, Any], KeyLines]:
    """Read a YAML mapping and the line of each of its keys.

    Raises ``error`` (a :class:`ConfigError` class) naming the file when it is missing,
    unreadable, not YAML (with the line) or not a mapping (``top`` says what the top holds).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(str(file), ["the file does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(str(file), [f"cannot be read: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
        lines = key_lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(str(file), [f"{where}not valid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise error(str(file), [f"expected a mapping {top} at the top"])
    return file, data, lines


def validate_located(
    model: type[Model],
    data: dict[str, Any],
    *,
    file: str,
    base_dir: Path,
    lines: KeyLines,
    error: type[ConfigError],
) -> Model:
    """``model`` validated from ``data`` (``base_dir`` in the context, for relative paths), or
    ``error`` listing every problem with its line and key path."""
    try:
        return model.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise error(file, located_problems(exc, lines)) from None


def located_problems(exc: ValidationError, lines: KeyLines) -> list[str]:
    """Each problem of a validation error as ``line N: key.path: message``, once each."""
    problems = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(str(part) for part in error["loc"] if not _is_union_tag(part))
        message = error["msg"]
        ctx = error.get("ctx") or {}
        key_loc = (*loc, str(ctx["key"])) if "key" in ctx else loc
        if error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "value_error" and message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        elif error["type"].endswith("_type") or error["type"].endswith("_parsing"):
            message = f"{message}, got {error.get('input')!r}"
        path = ".".join(key_loc) or "(top level)"
        line = _line_for(key_loc, lines)
        where = f"line {line}: " if line else ""
        text = f"{where}{path}: {message}"
        if text not in seen:
            seen.add(text)
            problems.append(text)
    return problems


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the branch name of Optional/union members (e.g. 'SourceConfig') to locs
    return isinstance(part, str) and part[:1].isupper() and part.isidentifier()


def _line_for(loc: tuple[str, ...], lines: KeyLines) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def key_lines(node: yaml.Node | None) -> KeyLines:
    """Map each key path of a YAML document to its (1-based) line."""
    lines: KeyLines = {}

    def walk(current: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                child = (*path, str(index))
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if node is not None:
        lines[()] = node.start_mark.line + 1
        walk(node, ())
    return lines
