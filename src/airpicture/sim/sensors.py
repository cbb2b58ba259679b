"""Sensor models: which targets each sensor sees, when, and with what noise; false alarms.

Coverage and measurement are separate pure functions. `coverage` (range limits,
azimuth sector, elevation limits, the Earth's horizon, boost phase for infrared)
decides what a sensor *could* detect; detection then draws against `pd`. The
truth's `detectable_by` column uses the very same `coverage`, so the metrics'
"eligible truth" is exactly what the sensors could have seen.

Timing:
* `radar`, `radar2d`: a beam sweeps the coverage once per `scan_period_s` (all
  round, or across the sector from its left edge) and reports a target when it
  passes the target's azimuth; the pass time is found by fixed-point iteration
  on the moving target's azimuth.
* `oth`: the same sweep across its sector (dwell regions revisited once a period).
* `space_ir`: a staring sensor; one frame of every boosting missile each period.
* `adsb`: each transponder broadcasts every `report_period_s`, at its own phase.

Measurements (ARCHITECTURE.md conventions): slant range, azimuth clockwise from
true north, *geometric* elevation above the sensor's WGS-84 horizontal plane
(refraction only bends what is visible), range rate = v · line of sight; OTH
range is ground range along the ellipsoid; space-IR angles are in the satellite's
own ENU frame, with line-of-sight noise σ in both directions (σ on elevation,
σ / cos(el) on azimuth); ADS-B positions carry `sigma_pos_m` on each of east,
north and up.

Biases (a sensor's optional `bias:` block, `scenario.model.SensorBias`): the
sensor really sits at the declared site plus `site_enu_m` and measures from
there; its range is scaled by (1 + ppm·10⁻⁶) and offset by `range_m`; its
azimuth and elevation are offset by `az_deg`, `el_deg`; each report is stamped
`time_s` late. Every term may drift linearly (`drift_per_hour`), evaluated at
the report's true time. The bias is added to the noisy measurement with no
random draw, so a sensor's noise (and every other sensor's) is the same with and
without it, and a sensor with no bias block gives exactly what it gave before.
Coverage is judged from the declared site (the difference is metres). False
alarms carry no bias.

False alarms: a Poisson number per scan with the declared mean, uniform over
the coverage in the sensor's own measurement space (range, azimuth, elevation),
the textbook clutter model that trackers assume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from airpicture.geo import (
    clears_ellipsoid,
    ecef_to_enu,
    ecef_to_geodetic,
    enu_basis,
    enu_to_aer,
    enu_vector_to_ecef,
    geodesic_bearing_deg,
    geodesic_distance_m,
    geodesic_forward,
    geodetic_to_ecef,
    refracted_elevation_and_visibility,
)
from airpicture.geo.atmosphere import MODE_C_STEP_M, NONSTANDARD_DAY_SIGMA_M, pressure_altitude_m
from airpicture.scenario import (
    ADSBSensor,
    OTHSensor,
    Radar2DSensor,
    RadarSensor,
    SensorBase,
    SpaceIRSensor,
)
from airpicture.scenario.model import SensorBias
from airpicture.sim.trajectory import TrajectorySet
from airpicture.tables import PLOTS_SCHEMA, Table, concat_tables

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

#: Clutter range rates are uniform in ± this, m/s.
CLUTTER_RANGE_RATE_MPS: Final = 1000.0
#: Skywave radar rays turn back in the ionosphere: nothing above this is illuminated.
OTH_MAX_ALT_M: Final = 100_000.0
#: False ADS-B reports (multipath, spoofing) appear at altitudes up to this.
ADSB_CLUTTER_MAX_ALT_M: Final = 13_000.0
#: Largest number of (scan, target) pairs evaluated at once, to bound memory.
CHUNK_PAIRS: Final = 2_000_000

ScanningSensor = RadarSensor | Radar2DSensor | OTHSensor


@dataclass(frozen=True)
class Site:
    """A sensor's position: geodetic, ECEF and its local ENU basis."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    ecef_m: FloatArray
    basis: FloatArray

    @classmethod
    def of(cls, sensor: SensorBase) -> Site:
        return cls(
            sensor.lat_deg,
            sensor.lon_deg,
            sensor.alt_m,
            geodetic_to_ecef(sensor.lat_deg, sensor.lon_deg, sensor.alt_m),
            enu_basis(sensor.lat_deg, sensor.lon_deg),
        )


# --------------------------------------------------------------------------- biases


@dataclass(frozen=True)
class BiasAt:
    """A sensor's bias terms at each report's true time `(n,)` (site error `(n, 3)` ENU m)."""

    range_m: FloatArray
    range_scale_ppm: FloatArray
    az_deg: FloatArray
    el_deg: FloatArray
    time_s: FloatArray
    site_enu_m: FloatArray

    @classmethod
    def of(cls, bias: SensorBias, time_s: FloatArray) -> BiasAt:
        t = np.asarray(time_s, dtype=np.float64)
        hours = t / 3600.0
        drift = bias.drift_per_hour

        def term(kind: str) -> FloatArray:
            # b(t) = b0 + ḃ · t
            out: FloatArray = bias.value(kind) + drift.value(kind) * hours
            return out

        site = np.asarray(bias.site_enu_m) + np.asarray(drift.site_enu_m) * hours[:, None]
        return cls(
            term("range_m"),
            term("range_scale_ppm"),
            term("az_deg"),
            term("el_deg"),
            term("time_s"),
            site,
        )

    def scaled_range(self, range_m: FloatArray) -> FloatArray:
        """(1 + ppm·10⁻⁶) · r + offset."""
        out: FloatArray = range_m * (1.0 + self.range_scale_ppm * 1e-6) + self.range_m
        return out

    def true_site_ecef(self, site: Site) -> FloatArray:
        """Where the sensor really is at each report, ECEF `(n, 3)`."""
        return site.ecef_m + enu_vector_to_ecef(self.site_enu_m, site.basis)


# --------------------------------------------------------------------------- coverage


def in_sector(sensor: RadarSensor | Radar2DSensor | OTHSensor, az_deg: FloatArray) -> BoolArray:
    if sensor.boresight_az_deg is None or sensor.half_width_deg is None:
        return np.ones(np.shape(az_deg), dtype=bool)
    off = (np.asarray(az_deg) - sensor.boresight_az_deg + 180.0) % 360.0 - 180.0
    return np.abs(off) <= sensor.half_width_deg


def coverage(
    sensor: SensorBase,
    site: Site,
    pos_m: FloatArray,
    boosting: BoolArray,
    transponder: BoolArray,
) -> BoolArray:
    """True where a target at ECEF `pos_m` (M, 3) lies in the sensor's coverage.

    What a target emits decides what some sensors can see: `boosting` (M,), a hot
    plume (for `space_ir`); `transponder` (M,), an ADS-B transponder (for `adsb`).
    """
    if len(pos_m) == 0:
        return np.zeros(0, dtype=bool)
    if isinstance(sensor, RadarSensor | Radar2DSensor):
        az, el, rng = enu_to_aer(ecef_to_enu(pos_m, site.ecef_m, site.basis))
        mask = (rng >= sensor.min_range_m) & (rng <= sensor.max_range_m) & in_sector(sensor, az)
        out = np.zeros(len(pos_m), dtype=bool)
        idx = np.flatnonzero(mask)
        if idx.size:
            lat, lon, alt = ecef_to_geodetic(pos_m[idx])
            _, visible = refracted_elevation_and_visibility(
                site.lat_deg, site.lon_deg, site.alt_m, lat, lon, alt
            )
            # Elevation limits apply to the elevation the sensor reports (geometric);
            # refraction only moves the horizon.
            if sensor.min_el_deg is not None:
                visible &= el[idx] >= sensor.min_el_deg
            visible &= el[idx] <= sensor.max_el_deg
            out[idx] = visible
        return out
    if isinstance(sensor, OTHSensor):
        lat, lon, alt = ecef_to_geodetic(pos_m)
        ground = geodesic_distance_m(site.lat_deg, site.lon_deg, lat, lon)
        az = geodesic_bearing_deg(site.lat_deg, site.lon_deg, lat, lon)
        return (
            (ground >= sensor.min_range_m)
            & (ground <= sensor.max_range_m)
            & in_sector(sensor, az)
            & (alt <= OTH_MAX_ALT_M)
        )
    if isinstance(sensor, SpaceIRSensor):
        return np.asarray(boosting, dtype=bool) & clears_ellipsoid(site.ecef_m, pos_m)
    if isinstance(sensor, ADSBSensor):
        lat, lon, _ = ecef_to_geodetic(pos_m)
        in_range = geodesic_distance_m(site.lat_deg, site.lon_deg, lat, lon) <= sensor.max_range_m
        return np.asarray(transponder, dtype=bool) & in_range
    raise TypeError(f"no coverage model for sensor type {type(sensor).__name__}")


# --------------------------------------------------------------------------- plots


def _plot_rows(
    sensor: SensorBase,
    time_s: FloatArray,
    target_id: NDArray[np.object_],
    **columns: NDArray[np.generic],
) -> Table:
    n = len(time_s)
    table: Table = {"time_s": np.asarray(time_s, dtype=np.float64)}
    for field in PLOTS_SCHEMA:
        name = field.name
        if name in ("time_s", "target_id"):
            continue
        if name == "sensor_id":
            table[name] = np.full(n, sensor.id, dtype=np.object_)
        elif name == "nation":
            table[name] = np.full(n, sensor.nation, dtype=np.object_)
        elif pa.types.is_string(field.type):  # ident, mode3a: "" where not given
            table[name] = columns.get(name, np.full(n, "", dtype=np.object_))
        else:
            table[name] = np.asarray(columns.get(name, np.full(n, np.nan)), dtype=np.float64)
    table["target_id"] = target_id
    return table


def _sweep(sensor: ScanningSensor, beam_start_deg: float) -> tuple[float, float]:
    """Left edge and width of the swept azimuth interval, degrees."""
    if sensor.boresight_az_deg is not None and sensor.half_width_deg is not None:
        return sensor.boresight_az_deg - sensor.half_width_deg, 2.0 * sensor.half_width_deg
    return beam_start_deg, 360.0


def _beam_offset_s(
    az_deg: FloatArray, left_deg: float, width_deg: float, period_s: float
) -> FloatArray:
    """Time after the scan start at which the beam points at azimuth `az_deg`."""
    return np.minimum((np.asarray(az_deg) - left_deg) % 360.0 / width_deg, 1.0) * period_s


def _scan_azimuth(sensor: ScanningSensor, site: Site, pos_m: FloatArray) -> FloatArray:
    if isinstance(sensor, OTHSensor):
        lat, lon, _ = ecef_to_geodetic(pos_m)
        return geodesic_bearing_deg(site.lat_deg, site.lon_deg, lat, lon)
    az, _, _ = enu_to_aer(ecef_to_enu(pos_m, site.ecef_m, site.basis))
    return az


def _scanning_plots(
    sensor: ScanningSensor,
    site: Site,
    traj: TrajectorySet,
    duration_s: float,
    rng: np.random.Generator,
) -> Table:
    period = sensor.scan_period_s
    first_scan = rng.uniform(0.0, period) - period
    left, width = _sweep(sensor, rng.uniform(0.0, 360.0))
    mode_c = _mode_c_offsets(sensor, traj, rng)
    starts = np.arange(first_scan, duration_s, period)
    parts: list[Table] = []
    per_chunk = max(1, CHUNK_PAIRS // max(traj.count, 1))
    for c in range(0, len(starts), per_chunk):
        scan_t = starts[c : c + per_chunk]
        parts.append(
            _detect_targets(sensor, site, traj, scan_t, left, width, duration_s, rng, mode_c)
        )
        parts.append(_scan_clutter(sensor, scan_t, left, width, duration_s, rng))
    return concat_tables(parts, PLOTS_SCHEMA)


def _mode_c_offsets(
    sensor: ScanningSensor, traj: TrajectorySet, rng: np.random.Generator
) -> FloatArray | None:
    """Per-target pressure-altitude offsets (m) of a `mode_c` 2D radar, NaN for targets
    with no Mode C (missiles); None for any other sensor (no draw: its stream is unchanged).

    The offset is the non-standard day: one normal draw (σ `NONSTANDARD_DAY_SIGMA_M`)
    per aircraft for this sensor, held for the run.
    """
    if not (isinstance(sensor, Radar2DSensor) and sensor.mode_c):
        return None
    offsets = rng.normal(0.0, NONSTANDARD_DAY_SIGMA_M, traj.count)
    aircraft = np.asarray(traj.info.kinds, dtype=np.object_) == "aircraft"
    return np.where(aircraft, offsets, np.nan)


def mode_c_altitude_m(geometric_alt_m: FloatArray, offset_m: FloatArray) -> FloatArray:
    """The Mode C report of aircraft at `geometric_alt_m`: the standard atmosphere's pressure
    altitude, plus the day's offset, quantised to Mode C's 100 ft (NaN stays NaN)."""
    pressure_alt = pressure_altitude_m(geometric_alt_m) + offset_m
    out: FloatArray = np.round(pressure_alt / MODE_C_STEP_M) * MODE_C_STEP_M
    return out


def _detect_targets(
    sensor: ScanningSensor,
    site: Site,
    traj: TrajectorySet,
    scan_t: FloatArray,
    left: float,
    width: float,
    duration_s: float,
    rng: np.random.Generator,
    mode_c: FloatArray | None = None,
) -> Table:
    period = sensor.scan_period_s
    if traj.count == 0:
        return _plot_rows(sensor, np.zeros(0), np.zeros(0, np.object_))
    k = np.broadcast_to(np.arange(traj.count)[None, :], (len(scan_t), traj.count)).ravel()
    t0 = np.repeat(scan_t, traj.count)
    pos, _, alive = traj.state_at(k, t0)
    k, t0, pos = k[alive], t0[alive], pos[alive]
    t = t0 + _beam_offset_s(_scan_azimuth(sensor, site, pos), left, width, period)
    for _ in range(2):  # beam-pass time of a moving target: fixed-point iteration
        pos, _, _ = traj.state_at(k, t)
        t = t0 + _beam_offset_s(_scan_azimuth(sensor, site, pos), left, width, period)
    pos, vel, alive = traj.state_at(k, t)
    keep = alive & (t >= 0.0) & (t <= duration_s)
    k, t, pos, vel = k[keep], t[keep], pos[keep], vel[keep]
    silent = np.zeros(len(k), dtype=bool)
    seen = coverage(sensor, site, pos, silent, silent)
    detected = seen & (rng.uniform(size=len(k)) < sensor.pd)
    k, t, pos, vel = k[detected], t[detected], pos[detected], vel[detected]
    n = len(k)
    ids = np.asarray(traj.info.ids, dtype=np.object_)[k]
    bias = BiasAt.of(sensor.bias, t) if sensor.bias is not None else None
    if isinstance(sensor, OTHSensor):
        lat, lon, _ = ecef_to_geodetic(pos)
        site_lat: float | FloatArray = site.lat_deg
        site_lon: float | FloatArray = site.lon_deg
        if bias is not None:
            site_lat, site_lon, _ = ecef_to_geodetic(bias.true_site_ecef(site))
        ground = geodesic_distance_m(site_lat, site_lon, lat, lon)
        az = geodesic_bearing_deg(site_lat, site_lon, lat, lon)
        ground_noisy = ground + rng.normal(0.0, sensor.sigma_range_m, n)
        az_noisy = az + rng.normal(0.0, sensor.sigma_az_deg, n)
        if bias is not None:
            ground_noisy, az_noisy = bias.scaled_range(ground_noisy), az_noisy + bias.az_deg
            t = t + bias.time_s
        return _plot_rows(sensor, t, ids, range_m=ground_noisy, az_deg=az_noisy % 360.0)
    origin = site.ecef_m if bias is None else bias.true_site_ecef(site)
    delta = pos - origin
    az, el, slant = enu_to_aer(ecef_to_enu(pos, origin, site.basis))
    range_noisy = slant + rng.normal(0.0, sensor.sigma_range_m, n)
    az_noisy = az + rng.normal(0.0, sensor.sigma_az_deg, n)
    if bias is not None:
        range_noisy, az_noisy = bias.scaled_range(range_noisy), az_noisy + bias.az_deg
    columns: dict[str, FloatArray] = {"range_m": range_noisy, "az_deg": az_noisy % 360.0}
    if isinstance(sensor, RadarSensor):
        columns["el_deg"] = el + rng.normal(0.0, sensor.sigma_el_deg, n)
        if bias is not None:
            columns["el_deg"] = columns["el_deg"] + bias.el_deg
        if sensor.sigma_range_rate_mps is not None:
            # ṙ = v · (p − s) / |p − s|
            range_rate = np.einsum("ij,ij->i", vel, delta) / slant
            columns["range_rate_mps"] = range_rate + rng.normal(0.0, sensor.sigma_range_rate_mps, n)
    if mode_c is not None:
        _, _, alt = ecef_to_geodetic(pos)
        columns["pressure_alt_m"] = mode_c_altitude_m(alt, mode_c[k])
    if bias is not None:
        t = t + bias.time_s
    return _plot_rows(sensor, t, ids, **columns)


def _scan_clutter(
    sensor: ScanningSensor,
    scan_t: FloatArray,
    left: float,
    width: float,
    duration_s: float,
    rng: np.random.Generator,
) -> Table:
    counts = rng.poisson(sensor.false_alarms_per_scan, size=len(scan_t))
    n = int(counts.sum())
    t0 = np.repeat(scan_t, counts)
    az = (left + rng.uniform(0.0, width, n)) % 360.0
    t = t0 + _beam_offset_s(az, left, width, sensor.scan_period_s)
    columns: dict[str, FloatArray] = {
        "range_m": rng.uniform(sensor.min_range_m, sensor.max_range_m, n),
        "az_deg": az,
    }
    if isinstance(sensor, RadarSensor):
        low = max(sensor.min_el_deg if sensor.min_el_deg is not None else 0.0, 0.0)
        columns["el_deg"] = rng.uniform(low, max(sensor.max_el_deg, low), n)
        if sensor.sigma_range_rate_mps is not None:
            columns["range_rate_mps"] = rng.uniform(
                -CLUTTER_RANGE_RATE_MPS, CLUTTER_RANGE_RATE_MPS, n
            )
    keep = (t >= 0.0) & (t <= duration_s)
    return _plot_rows(
        sensor,
        t[keep],
        np.full(int(keep.sum()), "", dtype=np.object_),
        **{name: values[keep] for name, values in columns.items()},
    )


def _space_ir_plots(
    sensor: SpaceIRSensor,
    site: Site,
    traj: TrajectorySet,
    duration_s: float,
    rng: np.random.Generator,
) -> Table:
    period = sensor.scan_period_s
    frames = np.arange(rng.uniform(0.0, period), duration_s, period)
    sigma_deg = np.degrees(sensor.sigma_los_urad * 1e-6)
    parts: list[Table] = []
    boosters = np.flatnonzero(np.isfinite(traj.info.boost_start_s))
    if boosters.size and frames.size:
        k = np.tile(boosters, len(frames))
        t = np.repeat(frames, boosters.size)
        boosting = traj.in_boost(k, t)
        k, t = k[boosting], t[boosting]
        pos, _, alive = traj.state_at(k, t)
        seen = alive & coverage(sensor, site, pos, traj.in_boost(k, t), traj.info.transponder[k])
        detected = seen & (rng.uniform(size=len(k)) < sensor.pd)
        k, t, pos = k[detected], t[detected], pos[detected]
        az, el, _ = enu_to_aer(ecef_to_enu(pos, site.ecef_m, site.basis))
        n = len(k)
        el_noisy = el + rng.normal(0.0, sigma_deg, n)
        az_noisy = az + rng.normal(0.0, 1.0, n) * sigma_deg / np.cos(np.radians(el))
        if sensor.bias is not None:
            bias = BiasAt.of(sensor.bias, t)
            el_noisy, az_noisy, t = el_noisy + bias.el_deg, az_noisy + bias.az_deg, t + bias.time_s
        parts.append(
            _plot_rows(
                sensor,
                t,
                np.asarray(traj.info.ids, dtype=np.object_)[k],
                az_deg=az_noisy % 360.0,
                el_deg=el_noisy,
            )
        )
    # False alarms: uniform over the visible Earth disk (a spherical cap around nadir).
    counts = rng.poisson(sensor.false_alarms_per_scan, size=len(frames))
    n = int(counts.sum())
    radius = float(np.linalg.norm(site.ecef_m))
    earth_half_angle = np.arcsin(min(6_371_000.0 / radius, 1.0))
    off_nadir = np.arccos(rng.uniform(np.cos(earth_half_angle), 1.0, n))
    parts.append(
        _plot_rows(
            sensor,
            np.repeat(frames, counts),
            np.full(n, "", dtype=np.object_),
            az_deg=rng.uniform(0.0, 360.0, n),
            el_deg=np.degrees(off_nadir) - 90.0,
        )
    )
    return concat_tables(parts, PLOTS_SCHEMA)


def _adsb_plots(
    sensor: ADSBSensor,
    site: Site,
    traj: TrajectorySet,
    duration_s: float,
    rng: np.random.Generator,
) -> Table:
    period = sensor.report_period_s
    carriers = np.flatnonzero(traj.info.transponder)
    phase = rng.uniform(0.0, period, size=carriers.size)
    reports_each = int(np.ceil(duration_s / period)) + 1
    parts: list[Table] = []
    per_chunk = max(1, CHUNK_PAIRS // max(carriers.size, 1))
    idents = np.asarray(traj.info.idents, dtype=np.object_)
    ids = np.asarray(traj.info.ids, dtype=np.object_)
    for c in range(0, reports_each, per_chunk):
        n_rep = min(per_chunk, reports_each - c)
        k = np.tile(carriers, n_rep)
        t = np.tile(phase, n_rep) + np.repeat(np.arange(c, c + n_rep) * period, carriers.size)
        inside = t <= duration_s
        k, t = k[inside], t[inside]
        pos, _, alive = traj.state_at(k, t)
        k, t, pos = k[alive], t[alive], pos[alive]
        seen = coverage(sensor, site, pos, traj.in_boost(k, t), traj.info.transponder[k])
        detected = seen & (rng.uniform(size=len(k)) < sensor.pd)
        k, t, pos = k[detected], t[detected], pos[detected]
        lat, lon, _ = ecef_to_geodetic(pos)
        noise_enu = rng.normal(0.0, sensor.sigma_pos_m, size=(len(k), 3))
        lat_n, lon_n, alt_n = ecef_to_geodetic(
            pos + enu_vector_to_ecef(noise_enu, enu_basis(lat, lon))
        )
        parts.append(
            _plot_rows(
                sensor, t, ids[k], lat_deg=lat_n, lon_deg=lon_n, alt_m=alt_n, ident=idents[k]
            )
        )
    # False reports: uniform over the coverage disk, with no identity.
    frames = np.arange(rng.uniform(0.0, period), duration_s, period)
    counts = rng.poisson(sensor.false_alarms_per_scan, size=len(frames))
    n = int(counts.sum())
    lat_c, lon_c, _ = geodesic_forward(
        np.full(n, site.lat_deg),
        np.full(n, site.lon_deg),
        rng.uniform(0.0, 360.0, n),
        sensor.max_range_m * np.sqrt(rng.uniform(size=n)),
    )
    parts.append(
        _plot_rows(
            sensor,
            np.repeat(frames, counts),
            np.full(n, "", dtype=np.object_),
            lat_deg=lat_c,
            lon_deg=lon_c,
            alt_m=rng.uniform(0.0, ADSB_CLUTTER_MAX_ALT_M, n),
        )
    )
    return concat_tables(parts, PLOTS_SCHEMA)


def simulate_sensor(
    sensor: SensorBase, traj: TrajectorySet, duration_s: float, rng: np.random.Generator
) -> Table:
    """Every report (targets and false alarms) of one sensor over the scenario, unsorted."""
    site = Site.of(sensor)
    if isinstance(sensor, RadarSensor | Radar2DSensor | OTHSensor):
        return _scanning_plots(sensor, site, traj, duration_s, rng)
    if isinstance(sensor, SpaceIRSensor):
        return _space_ir_plots(sensor, site, traj, duration_s, rng)
    if isinstance(sensor, ADSBSensor):
        return _adsb_plots(sensor, site, traj, duration_s, rng)
    raise TypeError(f"no sensor model for {type(sensor).__name__}")
