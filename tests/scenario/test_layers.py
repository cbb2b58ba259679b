"""Map layers named by a scenario (`layers:`): checked when it loads, with one message naming
the GeoJSON file and the fix; copied into every run output's `layers/`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airpicture.cli import main
from airpicture.errors import InputError
from airpicture.scenario import layers as layers_module
from airpicture.scenario import load_scenario, read_geojson
from tests.conftest import REPO, SCENARIO_FILES

EXAMPLE = REPO / "scenarios" / "okinawa-exercise-area.yaml"
AREA = {
    "type": "Feature",
    "properties": {"name": "W-999"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[128.0, 25.0], [129.0, 25.0], [129.0, 26.0], [128.0, 25.0]]],
    },
}


def _scenario(tmp_path: Path, layers: str, files: dict[str, Any] | None = None) -> Path:
    """The example scenario in `tmp_path` with `layers:` replaced, and the files named."""
    text = EXAMPLE.read_text()
    start = text.index("\nlayers:")
    path = tmp_path / "scenario.yaml"
    path.write_text(text[:start] + "\nlayers:\n" + layers + "\n", encoding="utf-8")
    for name, content in (files or {}).items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message and "layers[0]" in message, message
    return message


@pytest.mark.parametrize(
    "path",
    [p for p in SCENARIO_FILES if p != EXAMPLE],
    ids=lambda p: f"{p.parent.parent.name}/{p.name}",
)
def test_scenarios_without_the_field_have_no_layers(path: Path) -> None:
    assert "\nlayers:" not in path.read_text()
    assert load_scenario(path).scenario.layers == []


def test_the_example_names_its_layer_and_colour() -> None:
    loaded = load_scenario(EXAMPLE)
    (layer,) = loaded.scenario.layers
    assert (layer.layer_name, layer.color) == ("exercise-area", "#ffb86b")
    assert read_geojson(loaded.base_dir / layer.path)["type"] == "FeatureCollection"


def test_name_and_colour_are_optional(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "  - {path: areas/w999.geojson}", {"areas/w999.geojson": AREA})
    (layer,) = load_scenario(path).scenario.layers
    assert (layer.layer_name, layer.color) == ("w999", None)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, r"not found|no such GeoJSON file"),
        ("{not json", r"not a readable JSON file"),
        (b"\xff\xfe\x00binary", r"not a readable JSON file"),
        ({"type": "Circle", "coordinates": [0, 0]}, r"not GeoJSON.*FeatureCollection"),
        ([1, 2, 3], r"not GeoJSON"),
        ({"type": "Point", "coordinates": [200.0, 10.0]}, r"position \[200\.0, 10\.0\] is not"),
        ('{"type": "Point", "coordinates": [NaN, 10]}', r"NaN is not a number"),
        ({"type": "Point", "coordinates": [1, 2, 3, 4]}, r"is not \[lon_deg, lat_deg\]"),
        ('{"type": "GeometryCollection", "x": ' + "[" * 40 + "]" * 40 + "}", r"nested deeper"),
        ('{"type": "Point", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", r"nested deeper"),
        ('{"type": "Point", "coordinates": [1, 2], "x": 1e400}', r"1e400 is too large"),
    ],
    ids=[
        "missing",
        "not-json",
        "binary",
        "not-geojson",
        "not-an-object",
        "lon-out-of-range",
        "nan",
        "four-numbers",
        "deep",
        "very-deep",
        "overflowing-number",
    ],
)
def test_a_bad_layer_file_is_named_with_the_fix(
    tmp_path: Path, content: Any, expected: str
) -> None:
    files = {} if content is None else {"area.geojson": content}
    message = _refusal(_scenario(tmp_path, "  - {path: area.geojson}", files))
    assert "area.geojson" in message and "relative to the scenario file" in message
    assert re.search(expected, message), message
    assert "RFC 7946" in message or "simplify" in message or "not found" in message, message


def test_an_oversized_layer_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layers_module, "MAX_LAYER_BYTES", 1000)
    big = {"type": "MultiPoint", "coordinates": [[128.0, 25.0]] * 200}
    message = _refusal(_scenario(tmp_path, "  - {path: big.geojson}", {"big.geojson": big}))
    assert re.search(r"bytes; a map layer is at most 1,000 \(simplify", message), message


def test_too_many_positions_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers_module, "MAX_LAYER_POSITIONS", 100)
    many = {"type": "MultiPoint", "coordinates": [[128.0, 25.0]] * 101}
    message = _refusal(_scenario(tmp_path, "  - {path: many.geojson}", {"many.geojson": many}))
    assert "more than 100 positions" in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - {path: a.geojson, color: red}", r"layers\[0\]\.color"),
        ("  - {path: a.geojson, name: ../escape}", r"layers\[0\]\.name"),
        ("  - {path: a.geojson, colour: '#fff'}", r"unknown field 'colour'; did you mean 'color'"),
        ("  - {path: a.geojson}\n  - {path: b/a.geojson}", r"layers\[1\]\.name: a second layer"),
    ],
)
def test_names_colours_and_typos_are_checked(tmp_path: Path, entry: str, expected: str) -> None:
    path = _scenario(tmp_path, entry, {"a.geojson": AREA, "b/a.geojson": AREA})
    with pytest.raises(InputError, match=expected):
        load_scenario(path)


def test_the_run_output_holds_the_scenarios_layers(tmp_path: Path) -> None:
    path = _scenario(
        tmp_path,
        "  - {path: areas/w999.geojson, name: W-999, color: '#abcdef'}\n"
        "  - {path: areas/adiz.geojson}",
        {"areas/w999.geojson": AREA, "areas/adiz.geojson": {**AREA, "color": "#123456"}},
    )
    out = tmp_path / "out"
    assert main(["simulate", str(path), "--out", str(out), "--duration-s", "10"]) == 0
    assert sorted(p.name for p in (out / "layers").iterdir()) == ["W-999.geojson", "adiz.geojson"]
    w999 = json.loads((out / "layers" / "W-999.geojson").read_text())
    assert w999 == {**AREA, "color": "#abcdef"}
    # Without a colour in the scenario, the file's own is kept.
    assert json.loads((out / "layers" / "adiz.geojson").read_text())["color"] == "#123456"


def test_a_scenario_without_layers_writes_no_layers_folder(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "  []")
    out = tmp_path / "out"
    assert main(["simulate", str(path), "--out", str(out), "--duration-s", "10"]) == 0
    assert (out / "run.json").is_file() and not (out / "layers").exists()
