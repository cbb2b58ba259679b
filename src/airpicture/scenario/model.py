"""Scenario format v1: the model of a scenario file.

Every field's name carries its unit. Models are frozen and reject unknown
fields, so a typo is an error rather than a silently ignored setting. The
format is documented field by field in docs/scenario.md.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from airpicture.errors import InputError
from airpicture.scenario.layers import LAYER_COLOR_PATTERN, read_geojson

NationCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Probability = Annotated[float, Field(gt=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Identity = Literal["friend", "neutral", "hostile", "unknown"]
SensorType = Literal["radar", "radar2d", "oth", "space_ir", "adsb"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Release(Frozen):
    """To whom a nation (or one sensor) gives its tracks and its plots."""

    tracks: list[NationCode] = []
    plots: list[NationCode] = []


class Nation(Frozen):
    release: Release = Release()


# --------------------------------------------------------------------------- sensors


#: The largest bias of each kind the simulator accepts, and why: beyond it the value is
#: surely in the wrong unit (mrad for degrees, km for metres) or not a misalignment at all.
BIAS_LIMITS: Final[dict[str, tuple[float, str]]] = {
    "range_m": (5_000.0, "a range offset is metres (cable delays, zero-range calibration)"),
    "range_scale_ppm": (10_000.0, "a range scale error is parts per million (1 % = 10000)"),
    "az_deg": (5.0, "an azimuth misalignment is a few tenths of a degree"),
    "el_deg": (5.0, "an elevation misalignment is a few tenths of a degree"),
    "time_s": (10.0, "a clock error is a fraction of a second"),
    "site_enu_m": (5_000.0, "a site survey error is metres to hundreds of metres"),
}
#: Largest drift per hour of each bias kind: a few times its largest value per day.
BIAS_DRIFT_LIMITS: Final[dict[str, float]] = {
    "range_m": 1_000.0,
    "range_scale_ppm": 1_000.0,
    "az_deg": 1.0,
    "el_deg": 1.0,
    "time_s": 1.0,
    "site_enu_m": 1_000.0,
}
#: The bias kinds each sensor type can have: what it measures (an ADS-B position is
#: the GNSS reference registration estimates the others against; a satellite has no
#: surveyed site and measures no range).
BIAS_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "radar": ("range_m", "range_scale_ppm", "az_deg", "el_deg", "time_s", "site_enu_m"),
    "radar2d": ("range_m", "range_scale_ppm", "az_deg", "time_s", "site_enu_m"),
    "oth": ("range_m", "range_scale_ppm", "az_deg", "time_s", "site_enu_m"),
    "space_ir": ("az_deg", "el_deg", "time_s"),
    "adsb": (),
}

Vector3 = Annotated[list[float], Field(min_length=3, max_length=3)]


class BiasTerms(Frozen):
    """Systematic errors of a sensor (all absent: none). Signs: what is *added* to the truth.

    * `range_m`, `range_scale_ppm`: reported range = (1 + ppm·10⁻⁶) · true range + range_m;
    * `az_deg`, `el_deg`: added to the true azimuth and elevation;
    * `time_s`: the report's time stamp is late by this (stamp = true time + time_s);
    * `site_enu_m`: [east, north, up] of where the sensor really is, from the surveyed
      site the scenario declares (and every tracker uses).
    """

    range_m: float = 0.0
    range_scale_ppm: float = 0.0
    az_deg: float = 0.0
    el_deg: float = 0.0
    time_s: float = 0.0
    site_enu_m: Vector3 = [0.0, 0.0, 0.0]

    def is_zero(self) -> bool:
        return not any(self.value(k) for k in BIAS_LIMITS if k != "site_enu_m") and not any(
            self.site_enu_m
        )

    def value(self, kind: str) -> float:
        return float(getattr(self, kind))

    def problems(self, limits: dict[str, float], per: str) -> list[tuple[str, str]]:
        """(field, message) for every value that is not finite or beyond its limit."""
        out: list[tuple[str, str]] = []
        for kind, limit in limits.items():
            values = self.site_enu_m if kind == "site_enu_m" else [self.value(kind)]
            for v in values:
                if not math.isfinite(v) or abs(v) > limit:
                    out.append(
                        (
                            kind,
                            f"{v} is beyond ±{limit:g}{per} ({BIAS_LIMITS[kind][1]}); "
                            "check the unit in the field's name",
                        )
                    )
                    break
        return out

    def declared(self) -> set[str]:
        """The bias kinds given a non-zero value."""
        out = {k for k in BIAS_LIMITS if k != "site_enu_m" and self.value(k) != 0.0}
        return out | ({"site_enu_m"} if any(self.site_enu_m) else set())


class SensorBias(BiasTerms):
    """A sensor's `bias:` block: constant terms, and `drift_per_hour` of the same terms
    (the bias at time t is the constant plus drift · t / 3600 s)."""

    drift_per_hour: BiasTerms = BiasTerms()

    @model_validator(mode="after")
    def _physical(self) -> SensorBias:
        problems = self.problems({k: v[0] for k, v in BIAS_LIMITS.items()}, "")
        problems += [
            (f"drift_per_hour.{k}", m)
            for k, m in self.drift_per_hour.problems(BIAS_DRIFT_LIMITS, " per hour")
        ]
        if problems:
            raise ValueError("; ".join(f"bias.{k}: {m}" for k, m in problems))
        return self

    def all_declared(self) -> set[str]:
        return self.declared() | self.drift_per_hour.declared()


class SensorBase(Frozen):
    id: Annotated[str, Field(min_length=1)]
    nation: NationCode
    lat_deg: Latitude
    lon_deg: Longitude
    alt_m: float = 0.0
    pd: Probability = 0.9
    false_alarms_per_scan: NonNegative = 0.0
    #: Overrides the nation's default release for this sensor's data.
    release: Release | None = None
    #: ASTERIX System Area Code and System Identification Code of the sensor's feed
    #: (I010); absent: derived (`Scenario.asterix_codes`). Give both or neither.
    sac: Annotated[int, Field(ge=0, le=255)] | None = None
    sic: Annotated[int, Field(ge=0, le=255)] | None = None
    #: Systematic errors the simulator adds to this sensor's reports; absent: none.
    bias: SensorBias | None = None

    @model_validator(mode="after")
    def _sac_sic_together(self) -> SensorBase:
        if (self.sac is None) != (self.sic is None):
            raise ValueError("give both sac and sic (the ASTERIX I010 of the feed), or neither")
        return self

    @model_validator(mode="after")
    def _bias_kinds(self) -> SensorBase:
        if self.bias is None:
            return self
        kind = str(getattr(self, "type", ""))
        allowed = BIAS_KINDS.get(kind, tuple(BIAS_LIMITS))
        wrong = sorted(self.bias.all_declared() - set(allowed))
        if wrong:
            can = ", ".join(allowed) if allowed else "none (its positions are the reference)"
            raise ValueError(
                f"a {kind} sensor cannot have the bias {', '.join(wrong)}; it can have: {can}"
            )
        return self


class SectorMixin(Frozen):
    """An optional azimuth sector: boresight ± half width. Absent: all round."""

    boresight_az_deg: Annotated[float, Field(ge=-360.0, le=360.0)] | None = None
    half_width_deg: Annotated[float, Field(gt=0.0, le=180.0)] | None = None

    @model_validator(mode="after")
    def _sector_complete(self) -> SectorMixin:
        if (self.boresight_az_deg is None) != (self.half_width_deg is None):
            raise ValueError(
                "give both boresight_az_deg and half_width_deg for a sector, or neither "
                "for all-round coverage"
            )
        return self


class ScanningRadarFields(SensorBase, SectorMixin):
    """What every scanning radar declares: its sweep, its coverage, range and azimuth noise."""

    scan_period_s: Positive
    min_range_m: NonNegative = 0.0
    max_range_m: Positive
    min_el_deg: Annotated[float, Field(ge=-90.0, le=90.0)] | None = None
    max_el_deg: Annotated[float, Field(ge=-90.0, le=90.0)] = 90.0
    sigma_range_m: Positive
    sigma_az_deg: Positive


class RadarSensor(ScanningRadarFields):
    """A 3D surveillance radar: range, azimuth, elevation, optional range rate."""

    type: Literal["radar"]
    sigma_el_deg: Positive
    sigma_range_rate_mps: Positive | None = None


class Radar2DSensor(ScanningRadarFields):
    """A 2D radar (air traffic control): slant range and azimuth, no altitude.

    `mode_c`: its reports of aircraft also carry the Mode C (pressure) altitude
    the aircraft's transponder replies with (a secondary radar's interrogation).
    """

    type: Literal["radar2d"]
    mode_c: bool = False


class OTHSensor(SensorBase, SectorMixin):
    """Over-the-horizon (skywave) radar: coarse ground range and azimuth, no line of sight."""

    type: Literal["oth"]
    scan_period_s: Positive
    min_range_m: NonNegative
    max_range_m: Positive
    sigma_range_m: Positive
    sigma_az_deg: Positive


class SpaceIRSensor(SensorBase):
    """A satellite's infrared sensor: line-of-sight angles to missiles in boost."""

    type: Literal["space_ir"]
    scan_period_s: Positive
    sigma_los_urad: Positive


class ADSBSensor(SensorBase):
    """An ADS-B ground network: position and identity broadcast by transponders."""

    type: Literal["adsb"]
    max_range_m: Positive
    report_period_s: Positive
    sigma_pos_m: Positive


Sensor = Annotated[
    RadarSensor | Radar2DSensor | OTHSensor | SpaceIRSensor | ADSBSensor,
    Field(discriminator="type"),
]

# --------------------------------------------------------------------------- targets


class GeoPoint(Frozen):
    lat_deg: Latitude
    lon_deg: Longitude


class Waypoint(Frozen):
    lat_deg: Latitude
    lon_deg: Longitude
    #: Altitude at this waypoint; absent: the target's `alt_m`.
    alt_m: float | None = None


class BallisticTarget(Frozen):
    """A ballistic missile from launch to impact, shaped to the requested apogee."""

    id: Annotated[str, Field(min_length=1)]
    kind: Literal["ballistic_missile"]
    identity: Identity = "unknown"
    launch_s: NonNegative = 0.0
    launch: GeoPoint
    impact: GeoPoint
    apogee_m: Positive
    burnout_s: Positive
    #: Mass over drag area of the re-entry vehicle, kg/m²; larger falls faster.
    ballistic_coefficient_kg_m2: Positive = 5000.0
    transponder: bool = False
    ident: str | None = None


class RouteTarget(Frozen):
    """An aircraft or a cruise missile flying a route of waypoints."""

    id: Annotated[str, Field(min_length=1)]
    kind: Literal["aircraft", "cruise_missile"]
    identity: Identity = "unknown"
    start_s: NonNegative = 0.0
    speed_mps: Positive
    #: Default altitude of waypoints that give none (a cruise missile's flight level).
    alt_m: float | None = None
    route: Annotated[list[Waypoint], Field(min_length=2)]
    transponder: bool = False
    #: Largest bank angle in turns; absent: 25° for aircraft, 45° for cruise missiles.
    max_bank_deg: Annotated[float, Field(gt=0.0, lt=85.0)] | None = None
    #: Identity broadcast over ADS-B (a callsign); absent: the id.
    ident: str | None = None

    @model_validator(mode="after")
    def _every_waypoint_has_altitude(self) -> RouteTarget:
        if self.alt_m is None and any(w.alt_m is None for w in self.route):
            raise ValueError("a waypoint has no alt_m and the target gives no default alt_m")
        return self


Interval = Annotated[list[float], Field(min_length=2, max_length=2)]


class GeneratedAircraft(Frozen):
    """`count` aircraft drawn at random (from the scenario seed) inside a box."""

    generate: Literal["aircraft"]
    count: Annotated[int, Field(ge=0)]
    identity: Identity = "neutral"
    transponder_fraction: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    lat_deg: Interval
    lon_deg: Interval
    alt_m: Interval
    speed_mps: Interval
    #: Mean time between random turns, s.
    mean_leg_s: Positive = 240.0
    id_prefix: str = "GEN"

    @field_validator("lat_deg", "lon_deg", "alt_m", "speed_mps")
    @classmethod
    def _ordered(cls, value: list[float], info: ValidationInfo) -> list[float]:
        low, high = value
        if not low <= high:
            raise ValueError(f"give [low, high] with low <= high, not {value}")
        if info.field_name == "lat_deg" and not -90.0 <= low <= high <= 90.0:
            raise ValueError("latitudes must lie in [-90, 90]")
        if info.field_name == "lon_deg" and not -180.0 <= low <= high <= 180.0:
            raise ValueError("longitudes must lie in [-180, 180]")
        if info.field_name == "speed_mps" and low <= 0.0:
            raise ValueError("speeds must be positive")
        return value


class TrafficTarget(Frozen):
    """Real recorded traffic: every aircraft in the file becomes a target."""

    traffic: str
    format: Literal["opensky_csv"]
    identity: Identity = "neutral"
    transponder: bool = True
    #: A gap in the record longer than this ends the aircraft's presence until data resumes.
    max_gap_s: Positive = 60.0

    @field_validator("traffic")
    @classmethod
    def _file_exists(cls, value: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base_dir")
        if base is not None and not (Path(base) / value).is_file():
            raise ValueError(
                f"traffic file {value!r} not found (looked in {Path(base) / value}); the path "
                "is relative to the scenario file"
            )
        return value

    def path(self, base_dir: Path) -> Path:
        return base_dir / self.traffic


def _target_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        if "generate" in value:
            return "generate"
        if "traffic" in value:
            return "traffic"
        return "ballistic" if value.get("kind") == "ballistic_missile" else "route"
    if isinstance(value, GeneratedAircraft):
        return "generate"
    if isinstance(value, TrafficTarget):
        return "traffic"
    return "ballistic" if isinstance(value, BallisticTarget) else "route"


TargetSpec = Annotated[
    Annotated[BallisticTarget, Tag("ballistic")]
    | Annotated[RouteTarget, Tag("route")]
    | Annotated[GeneratedAircraft, Tag("generate")]
    | Annotated[TrafficTarget, Tag("traffic")],
    Discriminator(_target_tag),
]

# --------------------------------------------------------------------------- map layers


class MapLayerFile(Frozen):
    """A GeoJSON file drawn on every nation's page (airspace, ADIZ, FIR, exercise areas):
    checked when the scenario loads (`scenario/layers.py`), copied into each run's `layers/`."""

    #: Relative to the scenario file.
    path: str
    #: The layer's name on the page (and its file name in a run's `layers/`); default: the
    #: file's stem.
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")] | None = None
    #: `#rrggbb` or `#rgb`; default: the file's own top-level "color", else one of the page's.
    color: Annotated[str, Field(pattern=LAYER_COLOR_PATTERN)] | None = None

    @field_validator("path")
    @classmethod
    def _readable_geojson(cls, value: str, info: ValidationInfo) -> str:
        base = (info.context or {}).get("base_dir")
        if base is not None:
            try:
                read_geojson(Path(base) / value)
            except InputError as exc:
                raise ValueError(
                    f"layer file {value!r} (looked in {Path(base) / value}; the path is relative "
                    f"to the scenario file): {'; '.join(exc.problems)}"
                ) from None
        return value

    @property
    def layer_name(self) -> str:
        return self.name if self.name is not None else Path(self.path).stem


# --------------------------------------------------------------------------- the rest


class Asset(Frozen):
    """A defended asset: threat assessment reports which threats can reach it."""

    name: Annotated[str, Field(min_length=1)]
    nation: NationCode
    lat_deg: Latitude
    lon_deg: Longitude
    radius_m: Positive


class Place(Frozen):
    """A named reference place for warning texts ("about 1,200 km east of Cape Erimo")."""

    name: Annotated[str, Field(min_length=1)]
    lat_deg: Latitude
    lon_deg: Longitude


LossProbability = Annotated[float, Field(ge=0.0, lt=1.0)]


class Link(Frozen):
    """The network link from one nation to others: delay and loss of every message sent on it.

    Directed: `{from_nation: USA, to_nations: [JPN]}` says nothing of JPN → USA.
    """

    from_nation: NationCode
    #: Receiving nations; absent: every other nation of the scenario.
    to_nations: list[NationCode] | None = None
    #: Delay from publication to delivery, s.
    latency_s: NonNegative = 0.0
    #: Probability that one message is lost on the way, in [0, 1).
    loss_probability: LossProbability = 0.0


class ScenarioConsistencyError(ValueError):
    """Problems that involve several fields, each with the path of the field to fix."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


class Scenario(Frozen):
    name: Annotated[str, Field(min_length=1)]
    epoch: AwareDatetime
    duration_s: Positive
    seed: int = 0
    picture_interval_s: Positive = 5.0
    fusion: Literal["distributed", "centralized"] = "distributed"
    nations: dict[NationCode, Nation]
    sensors: list[Sensor]
    targets: list[TargetSpec] = []
    assets: list[Asset] = []
    places: list[Place] = []
    #: Per-link latency and loss of the allied network; absent: instant and lossless.
    links: list[Link] = []
    #: GeoJSON layers drawn on every page; absent: none.
    layers: list[MapLayerFile] = []

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        known = set(self.nations)

        def check_nations(loc: tuple[str | int, ...], codes: list[str]) -> None:
            for code in codes:
                if code not in known:
                    problems.append(
                        (
                            loc,
                            f"nation {code!r} is not declared under `nations` "
                            f"(declared: {', '.join(sorted(known))})",
                        )
                    )

        for code, nation in self.nations.items():
            check_nations(("nations", code, "release", "tracks"), nation.release.tracks)
            check_nations(("nations", code, "release", "plots"), nation.release.plots)
        seen: set[str] = set()
        for i, sensor in enumerate(self.sensors):
            if sensor.id in seen:
                problems.append((("sensors", i, "id"), f"duplicate sensor id {sensor.id!r}"))
            seen.add(sensor.id)
            check_nations(("sensors", i, "nation"), [sensor.nation])
            if sensor.release is not None:
                check_nations(("sensors", i, "release", "tracks"), sensor.release.tracks)
                check_nations(("sensors", i, "release", "plots"), sensor.release.plots)
            min_range = getattr(sensor, "min_range_m", 0.0)
            max_range = getattr(sensor, "max_range_m", math.inf)
            if min_range >= max_range:
                problems.append(
                    (
                        ("sensors", i, "min_range_m"),
                        f"{min_range} is not below max_range_m {max_range}",
                    )
                )
        problems += _asterix_code_problems(self.sensors)
        seen_targets: set[str] = set()
        for i, target in enumerate(self.targets):
            if isinstance(target, BallisticTarget | RouteTarget):
                if target.id in seen_targets:
                    problems.append((("targets", i, "id"), f"duplicate target id {target.id!r}"))
                seen_targets.add(target.id)
            if isinstance(target, BallisticTarget):
                problem = ballistic_feasibility_problem(target)
                if problem:
                    problems.append((("targets", i, "apogee_m"), problem))
        for i, asset in enumerate(self.assets):
            check_nations(("assets", i, "nation"), [asset.nation])
        seen_links: set[tuple[str, str]] = set()
        for i, link in enumerate(self.links):
            check_nations(("links", i, "from_nation"), [link.from_nation])
            if link.to_nations is not None:
                check_nations(("links", i, "to_nations"), link.to_nations)
            for to in self.link_receivers(link):
                if to == link.from_nation:
                    problems.append(
                        (
                            ("links", i, "to_nations"),
                            f"a link from {to} to itself; a nation's own data is not sent over "
                            "the network",
                        )
                    )
                elif (link.from_nation, to) in seen_links:
                    problems.append(
                        (
                            ("links", i, "to_nations"),
                            f"the link {link.from_nation} → {to} is given twice; keep one",
                        )
                    )
                seen_links.add((link.from_nation, to))
        layer_names: set[str] = set()
        for i, layer in enumerate(self.layers):
            if layer.layer_name in layer_names:
                problems.append(
                    (
                        ("layers", i, "name"),
                        f"a second layer named {layer.layer_name!r}; give each layer its own "
                        "`name`",
                    )
                )
            layer_names.add(layer.layer_name)
        if problems:
            raise ScenarioConsistencyError(problems)
        return self

    def link_receivers(self, link: Link) -> list[str]:
        """The nations a `links:` entry applies to (every other declared nation when absent)."""
        if link.to_nations is not None:
            return list(link.to_nations)
        return [code for code in self.nations if code != link.from_nation]

    def asterix_codes(self) -> dict[str, tuple[int, int]]:
        """(SAC, SIC) of each radar, 2D radar and ADS-B station's ASTERIX feed, by sensor id.

        A sensor that declares none gets SAC = 1 + the index of its nation among the
        scenario's nations in alphabetical order, and SIC = the lowest code from 1
        up that no sensor of that SAC declares or was given before it (in file order).
        """
        nations = sorted(self.nations)
        taken = {(s.sac, s.sic) for s in self.sensors if s.sac is not None}
        codes: dict[str, tuple[int, int]] = {}
        for sensor in self.sensors:
            if sensor.sac is not None and sensor.sic is not None:
                codes[sensor.id] = (sensor.sac, sensor.sic)
                continue
            if sensor.type not in ASTERIX_SENSOR_TYPES:
                continue
            sac = 1 + nations.index(sensor.nation)
            sic = next((c for c in range(1, 256) if (sac, c) not in taken), None)
            if sic is None:
                continue  # more than 255 feeds of one nation: give the rest their codes
            taken.add((sac, sic))
            codes[sensor.id] = (sac, sic)
        return codes

    @property
    def epoch_utc(self) -> datetime:
        return self.epoch

    def sensor(self, sensor_id: str) -> SensorBase:
        for sensor in self.sensors:
            if sensor.id == sensor_id:
                return sensor
        raise KeyError(sensor_id)


#: Sensor kinds that send ASTERIX: CAT048/034 for radars, CAT021 for ADS-B.
ASTERIX_SENSOR_TYPES: Final = ("radar", "radar2d", "adsb")


def _asterix_code_problems(sensors: list[Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Two sensors that declare one SAC/SIC pair: a decoder could not tell their reports apart."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    owner: dict[tuple[int, int], str] = {}
    for i, sensor in enumerate(sensors):
        if sensor.sac is None or sensor.sic is None:
            continue
        pair = (sensor.sac, sensor.sic)
        if pair in owner:
            problems.append(
                (
                    ("sensors", i, "sic"),
                    f"SAC/SIC {pair[0]}/{pair[1]} is already {owner[pair]!r}'s; every ASTERIX "
                    "feed (a radar's or an ADS-B station's) needs its own pair",
                )
            )
        else:
            owner[pair] = sensor.id
    return problems


# --------------------------------------------------------------------------- feasibility

#: Above this burnout speed a "ballistic missile" would be a satellite launcher.
MAX_BURNOUT_SPEED_MPS = 7500.0
MIN_BALLISTIC_RANGE_M = 50_000.0
MIN_APOGEE_M = 20_000.0


def keplerian_burnout_speed_mps(range_m: float, apogee_m: float) -> float:
    """Speed at the surface of the ellipse through launch and impact with the given apogee.

    A spherical-Earth, vacuum estimate used to reject what cannot be flown; the
    simulator solves the real trajectory. The ellipse is symmetric about its
    apogee, so the launch point has true anomaly ν = π − Φ/2 for a range angle Φ:
        e = (r_a − R) / (r_a − R cos(Φ/2)),  p = r_a (1 − e),  a = p / (1 − e²)
        v² = μ (2/R − 1/a)
    """
    from airpicture.geo.constants import GM_M3_S2  # the one μ; geo imported late, as below

    earth_r = 6_371_000.0
    phi = range_m / earth_r
    r_a = earth_r + apogee_m
    e = (r_a - earth_r) / (r_a - earth_r * math.cos(phi / 2.0))
    p = r_a * (1.0 - e)
    a = p / (1.0 - e * e)
    return math.sqrt(GM_M3_S2 * (2.0 / earth_r - 1.0 / a))


def ballistic_feasibility_problem(target: BallisticTarget) -> str | None:
    """Why a launch/impact/apogee combination cannot be flown, or None when it can."""
    from airpicture.geo import geodesic_distance_m  # geo is light; imported here to keep order

    range_m = float(
        geodesic_distance_m(
            target.launch.lat_deg,
            target.launch.lon_deg,
            target.impact.lat_deg,
            target.impact.lon_deg,
        )
    )
    if range_m < MIN_BALLISTIC_RANGE_M:
        return (
            f"launch and impact are {range_m / 1000:.1f} km apart; a ballistic trajectory "
            f"needs at least {MIN_BALLISTIC_RANGE_M / 1000:.0f} km"
        )
    if target.apogee_m < MIN_APOGEE_M:
        return (
            f"apogee_m {target.apogee_m:.0f} is below {MIN_APOGEE_M:.0f} m: that is not ballistic"
        )
    speed = keplerian_burnout_speed_mps(range_m, target.apogee_m)
    if speed > MAX_BURNOUT_SPEED_MPS:
        return (
            f"a {range_m / 1000:.0f} km range with a {target.apogee_m / 1000:.0f} km apogee needs "
            f"about {speed:.0f} m/s at burnout, above {MAX_BURNOUT_SPEED_MPS:.0f} m/s (near "
            "orbital speed): choose an apogee nearer a quarter of the range"
        )
    if target.burnout_s > 400.0:
        return f"burnout_s {target.burnout_s:.0f} is longer than any ballistic missile's boost"
    return None
