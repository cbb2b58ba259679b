"""Loading a scenario file: YAML → validated `Scenario`, or one readable error.

Errors name the file, the line and column, and the field's path, and say how to
fix it: an unknown field suggests the nearest valid name, a YAML syntax error
gives its position. Nothing here prints a traceback for bad input.

A hostile file is refused before it can exhaust anything (`check_yaml_shape`,
`check_numbers`): more than `MAX_SCENARIO_BYTES`, nesting deeper than
`MAX_DEPTH`, aliases that expand past `MAX_VALUES` values (a 452-byte
"billion laughs" file), and numbers that are not finite or larger than any
physical quantity a scenario holds (`MAX_MAGNITUDE`).
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ValidationError

from airpicture.errors import InputError
from airpicture.scenario.model import (
    ADSBSensor,
    BallisticTarget,
    GeneratedAircraft,
    OTHSensor,
    Radar2DSensor,
    RadarSensor,
    RouteTarget,
    Scenario,
    ScenarioConsistencyError,
    SpaceIRSensor,
    TrafficTarget,
)

Loc = tuple[str | int, ...]

#: A scenario is a few kB of YAML (its recorded traffic lives in files it names).
MAX_SCENARIO_BYTES: Final = 4 * 2**20
#: Mappings and lists inside each other; the shared scenarios use 5.
MAX_DEPTH: Final = 32
#: Values (scalars, mappings, lists) once every alias is expanded; the shared scenarios
#: have fewer than 2,000.
MAX_VALUES: Final = 20_000
#: Problems listed by name (the rest counted): a list of 20,000 wrong values says so
#: quickly, not in 20,000 lines.
MAX_PROBLEMS_LISTED: Final = 100
#: No quantity in a scenario, in SI units, is larger (the Moon is 3.8e8 m away; a
#: scenario's seconds are far fewer). Seeds may be any 64-bit number.
MAX_MAGNITUDE: Final = 1e9
MAX_SEED: Final = 2**64
_NUMBERISH: Final = re.compile(r"[-+]?[0-9_.,:eExXa-fA-FoObB]+\Z")

#: Union tags that pydantic puts in an error's location, and the model each selects.
_TAGS: dict[str, type[BaseModel]] = {
    "radar": RadarSensor,
    "radar2d": Radar2DSensor,
    "oth": OTHSensor,
    "space_ir": SpaceIRSensor,
    "adsb": ADSBSensor,
    "ballistic": BallisticTarget,
    "route": RouteTarget,
    "generate": GeneratedAircraft,
    "traffic": TrafficTarget,
}


@dataclass(frozen=True)
class ScenarioOverrides:
    """Command-line changes applied to the file's values before validation."""

    seed: int | None = None
    duration_s: float | None = None
    #: New `count` for every `generate:` block.
    count: int | None = None


@dataclass(frozen=True)
class LoadedScenario:
    scenario: Scenario
    path: Path

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the scenario (traffic files) start from."""
        return self.path.parent


def load_scenario(path: str | Path, overrides: ScenarioOverrides | None = None) -> LoadedScenario:
    """Read and validate a scenario file; raise `InputError` naming every problem found."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_SCENARIO_BYTES:
        raise InputError(
            str(path),
            [
                f"{path.stat().st_size:,} bytes; a scenario file is at most "
                f"{MAX_SCENARIO_BYTES:,} (put recorded traffic in a file of its own)"
            ],
        )
    text = read_text_file(
        path, "scenario file", "give the path to a .yaml scenario (docs/scenario.md)"
    )
    try:
        check_yaml_shape(text, path)
        root, data = _compose_and_construct(text)
    except InputError:
        raise
    except ValueError as exc:  # a value YAML's constructors cannot convert (a 5,000-digit int)
        raise InputError(str(path), [f"a value cannot be read: {str(exc)[:200]}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(where, [f"YAML syntax error: {problem}"]) from None
    if not isinstance(data, dict) or root is None:
        raise InputError(str(path), ["a scenario file must be a YAML mapping of fields"])
    lines, duplicates = _index_lines(root)
    if duplicates:
        raise InputError(
            str(path),
            [f"line {line}: {_dotted(loc)} is given twice; keep one" for loc, line in duplicates],
        )
    check_numbers(data, lines, path)
    if overrides is not None:
        data = _apply_overrides(data, overrides, path)
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as exc:
        raise InputError(str(path), _describe(exc, lines, data)) from None
    # Again on what validation made: a quoted "1e300" or a bare nan is a string in YAML
    # 1.1 that pydantic turns into a float.
    check_numbers(scenario, lines, path)
    return LoadedScenario(scenario=scenario, path=path)


def read_text_file(path: Path, what: str, fix: str) -> str:
    """The UTF-8 text of `path`; `InputError` if missing, a folder, binary or not UTF-8.

    `what` names the input ("scenario file", "users file"), `fix` says how to
    give the right one. Checked before any parser sees the text, so a binary or
    Latin-1 file gets one message rather than a decoding traceback.
    """
    if path.is_dir():
        raise InputError(str(path), [f"is a folder, not a {what}; {fix}"])
    if not path.is_file():
        raise InputError(str(path), [f"no such {what}; {fix}"])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), [f"cannot read the {what} ({exc.strerror}); {fix}"]) from None
    if b"\x00" in raw:
        raise InputError(str(path), [f"is a binary file (it holds NUL bytes), not a {what}; {fix}"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}:{line}",
            [
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                f"save the {what} as UTF-8"
            ],
        ) from None


#: libyaml's safe loader where PyYAML was built with it (10-20× the pure-Python one: a
#: 4 MiB file of list items is seconds, not minutes), else the pure-Python one.
_LOADER: Final[type[yaml.SafeLoader]] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """The file's node tree (for line numbers) and its values, from one parse."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def check_yaml_shape(text: str, path: Path) -> None:
    """Refuse YAML whose nesting is deeper than `MAX_DEPTH` or whose aliases expand past
    `MAX_VALUES` values, reading only its event stream (no tree is built, no recursion)."""
    depth = 0
    #: Values inside each open collection so far, innermost last, with its anchor.
    open_sizes: list[tuple[int, str | None]] = []
    anchored: dict[str, int] = {}
    total = 0

    def add(size: int, event: yaml.Event) -> None:
        nonlocal total
        total += size
        if open_sizes:
            count, anchor = open_sizes[-1]
            open_sizes[-1] = (count + size, anchor)
        if total > MAX_VALUES:
            raise InputError(
                _at(path, event),
                [
                    f"its aliases expand to more than {MAX_VALUES:,} values, or it holds that "
                    "many (a scenario has a few thousand; a 'billion laughs' file?): write values "
                    "out instead of repeating aliases of aliases, and put recorded traffic in a "
                    "file of its own"
                ],
            )

    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(
                    _at(path, event),
                    [f"nested deeper than {MAX_DEPTH} levels; a scenario needs a handful"],
                )
            open_sizes.append((1, event.anchor))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            size, anchor = open_sizes.pop()
            if anchor is not None:
                anchored[anchor] = size
            total -= size - 1  # counted once as it filled; add() counts it in its parent
            add(size, event)
        elif isinstance(event, yaml.ScalarEvent):
            if not event.style and len(event.value) > 1000 and _NUMBERISH.match(event.value):
                raise InputError(
                    _at(path, event), [f"a number of {len(event.value):,} characters; give a value"]
                )
            if event.anchor is not None:
                anchored[event.anchor] = 1
            add(1, event)
        elif isinstance(event, yaml.AliasEvent):
            add(anchored.get(event.anchor or "", 1), event)


def _at(path: Path, event: yaml.Event) -> str:
    mark = event.start_mark
    return f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)


def check_numbers(data: Any, lines: dict[Loc, tuple[int, int]], path: Path) -> None:
    """Refuse numbers that are not finite (.nan, .inf) or larger than `MAX_MAGNITUDE`
    (`MAX_SEED` for a seed), naming each one's line and field. `data` is the file's
    values or the validated `Scenario` (its models walked field by field)."""
    problems: list[str] = []
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, BaseModel):
            stack.extend(((*loc, name), getattr(value, name)) for name in type(value).model_fields)
        elif isinstance(value, dict):
            stack.extend(((*loc, str(k)), v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend(((*loc, i), v) for i, v in enumerate(value))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            limit = MAX_SEED if loc and loc[-1] == "seed" else MAX_MAGNITUDE
            if isinstance(value, float) and not math.isfinite(value):
                why = f"{value} is not a finite number"
            elif abs(value) > limit:
                shown = f"{value:.3g}" if isinstance(value, float) else _int_text(value)
                why = f"{shown} is larger than any value a scenario holds (|x| ≤ {limit:.0e})"
            else:
                continue
            problems.append(f"{_where(loc, lines)}: {_label(loc, data)}: {why}")
    if problems:
        raise InputError(str(path), sorted(problems))


def _int_text(value: int) -> str:
    digits = int(value.bit_length() * math.log10(2)) + 1
    return f"{float(value):.3e}" if digits < 300 else f"an integer of ~{digits} digits"


def _apply_overrides(
    data: dict[str, Any], overrides: ScenarioOverrides, path: Path
) -> dict[str, Any]:
    data = dict(data)
    if overrides.seed is not None:
        data["seed"] = overrides.seed
    if overrides.duration_s is not None:
        data["duration_s"] = overrides.duration_s
    if overrides.count is not None:
        targets = [dict(t) if isinstance(t, dict) else t for t in data.get("targets") or []]
        blocks = [t for t in targets if isinstance(t, dict) and "generate" in t]
        if not blocks:
            raise InputError(
                f"--count {overrides.count}",
                [f"{path} has no `generate:` target block whose count could be set"],
            )
        for block in blocks:
            block["count"] = overrides.count
        data["targets"] = targets
    return data


# --------------------------------------------------------------------------- lines


def _index_lines(root: yaml.Node) -> tuple[dict[Loc, tuple[int, int]], list[tuple[Loc, int]]]:
    """Map every path in the YAML tree to its (line, column), 1-based; list duplicate keys."""
    lines: dict[Loc, tuple[int, int]] = {}
    duplicates: list[tuple[Loc, int]] = []

    def walk(node: yaml.Node, loc: Loc) -> None:
        lines[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    duplicates.append(((*loc, key), key_node.start_mark.line + 1))
                seen.add(key)
                lines[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                walk(value_node, (*loc, key))
                lines[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*loc, i))

    walk(root, ())
    return lines, duplicates


def _data_loc(loc: Loc, data: Any) -> Loc:
    """Drop the union tags pydantic inserts, keeping the path as it stands in the file."""
    out: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        # pydantic puts the union tag right after the list index of a sensor or target.
        if position == 2 and loc[0] in ("sensors", "targets") and part in _TAGS:
            continue
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            out.append(part)
            node = node[part]
        elif isinstance(part, str) and part in _TAGS:
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def _where(loc: Loc, lines: dict[Loc, tuple[int, int]]) -> str:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            line, column = lines[loc[:end]]
            return f"line {line}, column {column}"
    return "top level"


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def _label(loc: Loc, data: Any) -> str:
    """The field path, with the id of the sensor or target it is in, when there is one."""
    if len(loc) >= 2 and loc[0] in ("sensors", "targets") and isinstance(loc[1], int):
        items = data.get(loc[0]) if isinstance(data, dict) else None
        if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
            ident = items[loc[1]].get("id")
            if ident:
                rest = _dotted(loc[2:]) if loc[2:] else ""
                separator = "." if rest and not rest.startswith("[") else ""
                return f"{_dotted(loc[:2])} ({ident}){separator}{rest}"
    return _dotted(loc)


def _describe(exc: ValidationError, lines: dict[Loc, tuple[int, int]], data: Any) -> list[str]:
    problems: list[str] = []
    errors = exc.errors()
    for error in errors[:MAX_PROBLEMS_LISTED]:
        loc = _data_loc(tuple(error["loc"]), data)
        kind = error["type"]
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ScenarioConsistencyError):
            for sub_loc, message in cause.problems:
                problems.append(f"{_where(sub_loc, lines)}: {_label(sub_loc, data)}: {message}")
            continue
        if kind == "extra_forbidden":
            field = str(loc[-1])
            valid = _valid_fields(tuple(error["loc"]))
            close = difflib.get_close_matches(field, valid, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}?" if close else f"valid fields: {', '.join(valid)}"
            message = f"unknown field {field!r}; {hint}"
        elif kind == "missing":
            message = f"required field {str(loc[-1])!r} is missing"
        elif kind == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
        else:
            message = f"{error['msg']} (got {error.get('input')!r})"
        problems.append(f"{_where(loc, lines)}: {_label(loc, data)}: {message}")
    if len(errors) > MAX_PROBLEMS_LISTED:
        problems.append(f"... and {len(errors) - MAX_PROBLEMS_LISTED:,} more problems")
    return problems


def _valid_fields(loc: Loc) -> list[str]:
    """Field names of the model that holds the last element of a pydantic error location."""
    model: type[BaseModel] | None = Scenario
    for part in loc[:-1]:
        if (
            isinstance(part, str)
            and part in _TAGS
            and (model is None or part not in model.model_fields)
        ):
            model = _TAGS[part]
        elif model is not None and isinstance(part, str) and part in model.model_fields:
            model = _inner_model(model.model_fields[part].annotation)
    return sorted(model.model_fields) if model is not None else []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The one model class inside an annotation (`list[X]`, `dict[K, X]`, `X | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inner_model(args[0])
    found = [m for m in (_inner_model(a) for a in args) if m is not None]
    if origin in (typing.Union, types.UnionType) and len(found) > 1:
        return None
    return found[-1] if found else None
