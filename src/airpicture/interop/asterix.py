"""EUROCONTROL ASTERIX: radar (CAT048, CAT034) and ADS-B (CAT021) reports in, CAT062 tracks out.

Sans-I/O: datagrams (`bytes`) in, column tables out, and back; the caller owns
sockets and files. `libasterix` frames the data (data blocks, FSPEC, item
lengths) and builds records; the fields of the items used here are read from
and written to their bits in this module, with their units converted at the
edge (docs/interop.md lists every item and unit):

* CAT048 I040 slant range in 1/256 NM and azimuth in 360/2¹⁶ °, I090 Mode C
  in ¼ FL, I110 3D height in 25 ft, I140 time of day in 1/128 s;
* CAT021 I131 position in 180/2³⁰ ° (I130: 180/2²³ °), I140 geometric height in
  6.25 ft, I145 flight level in ¼ FL, I071/I073/I077 time of day;
* CAT062 I105 position in 180/2²⁵ °, I185 velocity in ¼ m/s, I130 geometric
  altitude in 6.25 ft, I136 measured flight level in ¼ FL, I220 rate of climb in
  6.25 ft/min, I290 track age in ¼ s.

Time of day becomes seconds since the scenario epoch: the day is chosen so that
each record's time lies within half a day of the previous record's (the first
record's: of the epoch), which carries a recording across midnight.

Every decoding failure is an `AsterixError`; nothing else escapes a decoder.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import asterix.generated as spec
import numpy as np
from asterix.base import Bits, RawDatablock
from numpy.typing import NDArray

from airpicture.geo import aer_to_enu, ecef_to_geodetic, enu_basis, enu_to_ecef, geodetic_to_ecef

FloatArray = NDArray[np.float64]
Table = dict[str, NDArray[Any]]

#: The editions spoken (the newest libasterix has that asterix_decoder agrees with).
CAT021: Final[Any] = spec.Cat_021_2_6
CAT034: Final[Any] = spec.Cat_034_1_29
CAT048: Final[Any] = spec.Cat_048_1_32
CAT062: Final[Any] = spec.Cat_062_1_20

NM_M: Final = 1852.0
FT_M: Final = 0.3048
FL_M: Final = 100.0 * FT_M
TOD_LSB_S: Final = 1.0 / 128.0
DAY_S: Final = 86_400.0

#: CAT048 I040: slant range 1/256 NM (16 bits), azimuth 360/2¹⁶ °.
RHO_LSB_M: Final = NM_M / 256.0
THETA_LSB_DEG: Final = 360.0 / 2**16
#: The largest slant range I048/040 can carry.
MAX_RHO_M: Final = (2**16 - 1) * RHO_LSB_M
#: CAT048 I110 and the ¼ FL of I048/090, I021/145, I062/136.
HEIGHT_3D_LSB_M: Final = 25.0 * FT_M
#: The largest height I048/110 carries (14 bits, signed): 204,775 ft.
MAX_HEIGHT_3D_M: Final = (2**13 - 1) * HEIGHT_3D_LSB_M
QUARTER_FL_M: Final = FL_M / 4.0
#: CAT021 I140 and CAT062 I130: 6.25 ft.
GEO_HEIGHT_LSB_M: Final = 6.25 * FT_M
LATLON_021_131_LSB_DEG: Final = 180.0 / 2**30
LATLON_021_130_LSB_DEG: Final = 180.0 / 2**23
LATLON_062_LSB_DEG: Final = 180.0 / 2**25
VELOCITY_062_LSB_MPS: Final = 0.25
#: CAT062 I220: 6.25 ft/min.
CLIMB_062_LSB_MPS: Final = 6.25 * FT_M / 60.0
AGE_062_LSB_S: Final = 0.25
#: CAT062 I290's 8-bit ages (TRK, PSR, SSR, ES) saturate at 63.75 s.
AGE_062_MAX_S: Final = 255 * AGE_062_LSB_S
#: CAT062 I500: APC σx, σy in 0.5 m (16 bits unsigned), AGA σ of the geometric altitude
#: in 6.25 ft (8 bits unsigned).
ACCURACY_XY_062_LSB_M: Final = 0.5
#: Octets of each subfield of the compound items read here, in FSPEC order.
_I290_SUBFIELDS: Final = ("TRK", "PSR", "SSR", "MDS", "ADS", "ES", "VDL", "UAT", "LOP", "MLT")
_I290_SIZES: Final = (1, 1, 1, 1, 2, 1, 1, 1, 1, 1)
_I500_SUBFIELDS: Final = ("APC", "COV", "APW", "AGA", "ABA", "ATV", "AA", "ARC")
_I500_SIZES: Final = (4, 2, 4, 1, 1, 2, 2, 1)
#: Picture age columns → I290 subfields (a 3D radar is primary, a 2D radar secondary,
#: ADS-B 1090 extended squitter).
_AGE_SUBFIELDS: Final = (("psr_age_s", "PSR"), ("ssr_age_s", "SSR"), ("ads_age_s", "ES"))
#: CAT034 I020 sector number: 360/2⁸ °; I041 rotation period 1/128 s.
SECTOR_LSB_DEG: Final = 360.0 / 2**8

#: ICAO 6-bit characters (Annex 10): index → character, "" where unused.
_ICAO_CHARS: Final = [""] * 64
for _code, _char in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", start=1):
    _ICAO_CHARS[_code] = _char
_ICAO_CHARS[32] = " "
for _code in range(48, 58):
    _ICAO_CHARS[_code] = str(_code - 48)
_ICAO_CODES: Final = {c: i for i, c in enumerate(_ICAO_CHARS) if c}
_MODE_S_ADDRESS: Final = re.compile(r"^[0-9a-f]{6}$")
_MODE3A: Final = re.compile(r"^[0-7]{4}$")


class AsterixError(ValueError):
    """Bytes that are not the ASTERIX this codec reads, or a table it cannot write.

    `offset` is the byte offset in the datagram where the problem was found
    (-1 when it is not about one place).
    """

    def __init__(self, problem: str, offset: int = -1) -> None:
        self.problem = problem
        self.offset = offset
        where = f" at byte {offset}" if offset >= 0 else ""
        super().__init__(f"ASTERIX{where}: {problem}")


@dataclass(frozen=True)
class AsterixSensor:
    """A sensor as ASTERIX names it (SAC/SIC), with what decoding needs of it."""

    sensor_id: str
    nation: str
    sac: int
    sic: int
    #: The sensor's site: a 3D radar's height (I048/110) is converted to elevation from it.
    lat_deg: float
    lon_deg: float
    alt_m: float
    #: "radar" (CAT048/034) or "adsb" (CAT021).
    family: str


# --------------------------------------------------------------------------- time of day


def seconds_of_day(epoch: datetime) -> float:
    """The epoch's UTC time of day, s."""
    utc = epoch.astimezone(UTC)
    return utc.hour * 3600.0 + utc.minute * 60.0 + utc.second + utc.microsecond * 1e-6


@dataclass
class TimeOfDayClock:
    """Time of day (s since UTC midnight) → seconds since the epoch, across midnights.

    Each time is placed on the day that puts it within half a day of the last
    one converted (of the epoch, at first).
    """

    epoch_tod_s: float
    last_s: float = 0.0

    def to_epoch_s(self, tod_s: float) -> float:
        # t = tod − tod(epoch) + k·86400, k nearest the last time
        base = tod_s - self.epoch_tod_s
        k = round((self.last_s - base) / DAY_S)
        t = base + k * DAY_S
        self.last_s = t
        return t


def time_of_day_raw(epoch_tod_s: float, time_s: FloatArray) -> NDArray[np.int64]:
    """Seconds since the epoch → time of day in 1/128 s (24 bits, wrapping at midnight)."""
    tod = np.mod(epoch_tod_s + np.asarray(time_s, dtype=np.float64), DAY_S)
    raw = np.rint(tod / TOD_LSB_S).astype(np.int64)
    return np.asarray(np.mod(raw, int(DAY_S * 128)), dtype=np.int64)


# --------------------------------------------------------------------------- small field codecs


def _signed(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def _unsigned(value: int, bits: int) -> int:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return min(max(value, low), high) & ((1 << bits) - 1)


def _scaled(value: float, lsb: float, bits: int, signed: bool = True) -> int:
    raw = round(value / lsb)
    if signed:
        return _unsigned(raw, bits)
    return min(max(raw, 0), (1 << bits) - 1)


def icao_chars_decode(raw: int) -> str:
    """48 bits of ICAO 6-bit characters → text (trailing spaces removed)."""
    chars = [_ICAO_CHARS[(raw >> (42 - 6 * i)) & 0x3F] for i in range(8)]
    return "".join(chars).rstrip()


def icao_chars_encode(text: str) -> int | None:
    """Text (≤ 8 of A–Z, 0–9, space) → 48 bits; None when it cannot be written."""
    padded = text.upper().ljust(8)
    if len(padded) > 8 or any(c not in _ICAO_CODES for c in padded):
        return None
    raw = 0
    for c in padded:
        raw = (raw << 6) | _ICAO_CODES[c]
    return raw


def mode3a_decode(raw: int) -> str:
    """12 bits (A4..D1) → four octal digits."""
    return f"{raw & 0o7777:04o}"


def mode3a_encode(code: str) -> int | None:
    return int(code, 8) if _MODE3A.match(code) else None


def identity_of(callsign: str, address: int | None) -> str:
    """The `ident` column: the callsign where present, else the Mode S address (6 hex digits)."""
    if callsign:
        return callsign
    return f"{address:06x}" if address is not None else ""


def track_number_of(track_id: str) -> int:
    """A picture `track_id` → the 16-bit number of I062/040: its trailing digits when they
    fit, else a CRC-32 of the text folded to 16 bits (documented in docs/interop.md)."""
    digits = re.search(r"(\d+)$", track_id)
    if digits is not None and int(digits.group(1)) < 2**16:
        return int(digits.group(1))
    return zlib.crc32(track_id.encode()) & 0xFFFF


# --------------------------------------------------------------------------- geometry


def height_to_elevation_deg(
    sensor: AsterixSensor, range_m: FloatArray, az_deg: FloatArray, height_m: FloatArray
) -> FloatArray:
    """A 3D radar's measured height (above the ellipsoid) → elevation above its horizontal plane.

    The spherical estimate sin el = ((R+h)² − (R+hₛ)² − r²) / (2 r (R+hₛ)) is refined by
    Newton steps on the WGS-84 forward map el → height, so the inverse of
    `elevation_to_height_m` to well below the 25 ft of I048/110.
    """
    r = np.asarray(range_m, dtype=np.float64)
    h = np.asarray(height_m, dtype=np.float64)
    earth_r = 6_371_000.0
    rs = earth_r + sensor.alt_m
    with np.errstate(invalid="ignore", divide="ignore"):
        sin_el = ((earth_r + h) ** 2 - rs**2 - r**2) / (2.0 * r * rs)
    el = np.degrees(np.arcsin(np.clip(sin_el, -1.0, 1.0)))
    for _ in range(3):
        # el ← el − (h(el) − h) / (dh/del)
        h0 = elevation_to_height_m(sensor, r, az_deg, el)
        h1 = elevation_to_height_m(sensor, r, az_deg, el + 1e-4)
        with np.errstate(invalid="ignore", divide="ignore"):
            step = (h0 - h) * 1e-4 / (h1 - h0)
        el = np.clip(el - np.where(np.isfinite(step), step, 0.0), -90.0, 90.0)
    return np.asarray(el, dtype=np.float64)


def elevation_to_height_m(
    sensor: AsterixSensor, range_m: FloatArray, az_deg: FloatArray, el_deg: FloatArray
) -> FloatArray:
    """(range, azimuth, elevation) from the sensor → the target's height above the ellipsoid."""
    origin = geodetic_to_ecef(sensor.lat_deg, sensor.lon_deg, sensor.alt_m)
    basis = enu_basis(sensor.lat_deg, sensor.lon_deg)
    xyz = enu_to_ecef(aer_to_enu(az_deg, el_deg, range_m), origin, basis)
    _, _, alt = ecef_to_geodetic(xyz)
    return np.asarray(alt, dtype=np.float64)


# --------------------------------------------------------------------------- decoding


#: Columns of a decoded report table: the plots table's, with Mode C, Mode 3/A and the
#: Mode S address beside `ident`.
REPORT_COLUMNS: Final = (
    "time_s",
    "sensor_id",
    "nation",
    "range_m",
    "az_deg",
    "el_deg",
    "range_rate_mps",
    "lat_deg",
    "lon_deg",
    "alt_m",
    "ident",
    "target_id",
    "pressure_alt_m",
    "mode3a",
    "mode_s_address",
)
SERVICE_COLUMNS: Final = ("time_s", "sensor_id", "message_type", "sector_az_deg", "period_s")
TRACK_COLUMNS: Final = (
    "time_s",
    "sac",
    "sic",
    "track_number",
    "lat_deg",
    "lon_deg",
    "alt_m",
    "vel_e_mps",
    "vel_n_mps",
    "vel_u_mps",
    "pressure_alt_m",
    "mode3a",
    "ident",
    "age_s",
    "first",
    "last",
    "mono",
    "psr_age_s",
    "ssr_age_s",
    "ads_age_s",
    "sigma_e_m",
    "sigma_n_m",
    "sigma_u_m",
)
_STRING_COLUMNS: Final = frozenset(
    {"sensor_id", "nation", "ident", "target_id", "mode3a", "mode_s_address"}
)


def _new_rows(columns: Sequence[str]) -> dict[str, list[Any]]:
    return {c: [] for c in columns}


def _to_table(rows: Mapping[str, list[Any]]) -> Table:
    out: Table = {}
    for name, values in rows.items():
        if name in _STRING_COLUMNS:
            array = np.empty(len(values), dtype=object)
            array[:] = values
            out[name] = array
        else:
            out[name] = np.asarray(values, dtype=np.float64)
    return out


@dataclass
class Decoded:
    """What one datagram (or a run of them) held."""

    #: CAT048 and CAT021 target reports, columns `REPORT_COLUMNS`.
    reports: Table
    #: CAT034 service messages: north markers (1), sector crossings (2), …
    service: Table
    #: CAT062 system tracks, columns `TRACK_COLUMNS`.
    tracks: Table
    #: Records whose SAC/SIC no sensor declares, by (category, SAC, SIC).
    unknown: Counter[tuple[int, int, int]]
    #: Data blocks of categories this codec does not read, by category.
    other_categories: Counter[int]


def split_datablocks(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(offset, category, records bytes) of each data block of a datagram or raw recording.

    A data block is CAT (1 octet), LEN (2 octets, the block's whole length), records.
    """
    offset = 0
    n = len(data)
    while offset < n:
        if n - offset < 3:
            raise AsterixError(f"{n - offset} stray octets after the last data block", offset)
        length = int.from_bytes(data[offset + 1 : offset + 3], "big")
        if length < 3:
            raise AsterixError(f"data block length {length} is below 3", offset)
        if offset + length > n:
            raise AsterixError(
                f"data block of {length} octets runs past the end ({n - offset} left)", offset
            )
        yield offset, data[offset], data[offset + 3 : offset + length]
        offset += length


def _records(cat_spec: Any, body: bytes, offset: int) -> list[Any]:
    try:
        records = cat_spec.cv_uap.parse(Bits.from_bytes(body))
    except Exception as exc:  # libasterix asserts on some malformed items
        raise AsterixError(
            f"CAT{cat_spec.cv_category:03d} records unreadable ({exc!r})", offset
        ) from exc
    if isinstance(records, ValueError):
        raise AsterixError(f"CAT{cat_spec.cv_category:03d} records unreadable: {records}", offset)
    return list(records)


def _item(record: Any, name: str) -> int | None:
    """The item's bits as one unsigned integer, or None when absent."""
    nsp = record.get_item(name)
    if nsp is None:
        return None
    raw: int = nsp.unparse().to_uinteger()
    return raw


def _item_bytes(record: Any, name: str) -> bytes | None:
    nsp = record.get_item(name)
    if nsp is None:
        return None
    data: bytes = nsp.unparse().to_bytes()
    return data


def compound_subfields(
    data: bytes | None, names: tuple[str, ...], sizes: tuple[int, ...]
) -> dict[str, bytes]:
    """The subfields of a compound item of fixed-size subfields (CAT062 I290, I500), by
    name, from its bytes: FSPEC octets (7 subfield bits and FX each), then each present
    subfield's octets in order. Absent or cut short: left out."""
    if not data:
        return {}
    n_fspec = next((i + 1 for i, b in enumerate(data) if not b & 1), len(data))
    out: dict[str, bytes] = {}
    at = n_fspec
    for k, (name, size) in enumerate(zip(names, sizes, strict=True)):
        octet, bit = divmod(k, 7)
        if octet < n_fspec and data[octet] & (0x80 >> bit):
            if at + size > len(data):
                break
            out[name] = data[at : at + size]
            at += size
    return out


class AsterixDecoder:
    """Decodes datagrams of CAT048, CAT034, CAT021 (and CAT062) into tables.

    Stateful only in its clock (time of day → seconds since the epoch across
    midnight); feed it datagrams in the order they were received.
    """

    def __init__(self, sensors: Sequence[AsterixSensor], epoch: datetime) -> None:
        self.by_code: dict[tuple[str, int, int], AsterixSensor] = {
            (s.family, s.sac, s.sic): s for s in sensors
        }
        self.clock = TimeOfDayClock(seconds_of_day(epoch))

    def decode(self, datagram: bytes) -> Decoded:
        """Every record of `datagram`; raises `AsterixError` (and nothing else) on bad bytes.

        A datagram is decoded whole or not at all: on an error no row of it is kept.
        """
        reports = _new_rows(REPORT_COLUMNS)
        service = _new_rows(SERVICE_COLUMNS)
        tracks = _new_rows(TRACK_COLUMNS)
        unknown: Counter[tuple[int, int, int]] = Counter()
        other: Counter[int] = Counter()
        saved_clock = self.clock.last_s
        try:
            for offset, category, body in split_datablocks(datagram):
                if category == 48:
                    for rec in _records(CAT048, body, offset):
                        self._cat048(rec, reports, unknown)
                elif category == 21:
                    for rec in _records(CAT021, body, offset):
                        self._cat021(rec, reports, unknown)
                elif category == 34:
                    for rec in _records(CAT034, body, offset):
                        self._cat034(rec, service, unknown)
                elif category == 62:
                    for rec in _records(CAT062, body, offset):
                        self._cat062(rec, tracks)
                else:
                    other[category] += 1
            self._elevations(reports)
        except AsterixError:
            self.clock.last_s = saved_clock
            raise
        except Exception as exc:  # a malformed item that libasterix did not refuse
            self.clock.last_s = saved_clock
            raise AsterixError(f"unreadable item ({exc!r})") from exc
        return Decoded(_to_table(reports), _to_table(service), _to_table(tracks), unknown, other)

    def _elevations(self, reports: dict[str, list[Any]]) -> None:
        """CAT048 rows hold I110's height in `el_deg` until here: convert them, per sensor."""
        heights = np.asarray(reports["el_deg"], dtype=np.float64)
        has = np.isfinite(heights)
        if not has.any():
            return
        sensor_ids = np.asarray(reports["sensor_id"], dtype=object)
        rng = np.asarray(reports["range_m"], dtype=np.float64)
        az = np.asarray(reports["az_deg"], dtype=np.float64)
        el = np.full(len(heights), math.nan)
        for sensor_id in set(sensor_ids[has].tolist()):
            rows = has & (sensor_ids == sensor_id) & np.isfinite(rng)
            sensor = next(s for s in self.by_code.values() if s.sensor_id == sensor_id)
            el[rows] = height_to_elevation_deg(sensor, rng[rows], az[rows], heights[rows])
        reports["el_deg"] = el.tolist()

    def _sensor(
        self, record: Any, family: str, category: int, unknown: Counter[tuple[int, int, int]]
    ) -> AsterixSensor | None:
        code = _item(record, "010")
        if code is None:
            unknown[(category, -1, -1)] += 1
            return None
        sac, sic = code >> 8, code & 0xFF
        sensor = self.by_code.get((family, sac, sic))
        if sensor is None:
            unknown[(category, sac, sic)] += 1
        return sensor

    def _time(self, raw_tod: int | None) -> float:
        if raw_tod is None:
            return math.nan
        return self.clock.to_epoch_s(raw_tod * TOD_LSB_S)

    def _cat048(
        self, rec: Any, out: dict[str, list[Any]], unknown: Counter[tuple[int, int, int]]
    ) -> None:
        sensor = self._sensor(rec, "radar", 48, unknown)
        if sensor is None:
            return
        polar = _item(rec, "040")
        rng = ((polar >> 16) * RHO_LSB_M) if polar is not None else math.nan
        az = ((polar & 0xFFFF) * THETA_LSB_DEG) if polar is not None else math.nan
        mode_c = _item(rec, "090")
        pressure_alt = math.nan
        if mode_c is not None and not mode_c >> 15:  # V = 0: code validated
            pressure_alt = _signed(mode_c & 0x3FFF, 14) * QUARTER_FL_M
        height = _item(rec, "110")
        # the height becomes an elevation for the whole datagram at once (`_elevations`)
        el = _signed(height & 0x3FFF, 14) * HEIGHT_3D_LSB_M if height is not None else math.nan
        doppler = _item_bytes(rec, "120")
        range_rate = math.nan
        if doppler is not None and doppler[0] & 0x80 and len(doppler) >= 3:
            cal = int.from_bytes(doppler[1:3], "big")
            if not cal >> 15:  # D = 0: Doppler valid
                range_rate = float(_signed(cal & 0x3FF, 10))
        mode3a = _item(rec, "070")
        address = _item(rec, "220")
        callsign = _item(rec, "240")
        self._report(
            out,
            sensor,
            time_s=self._time(_item(rec, "140")),
            range_m=rng,
            az_deg=az,
            el_deg=el,
            range_rate_mps=range_rate,
            callsign=icao_chars_decode(callsign) if callsign is not None else "",
            address=address,
            pressure_alt_m=pressure_alt,
            mode3a=mode3a_decode(mode3a) if mode3a is not None and not mode3a >> 15 else "",
        )

    def _cat021(
        self, rec: Any, out: dict[str, list[Any]], unknown: Counter[tuple[int, int, int]]
    ) -> None:
        sensor = self._sensor(rec, "adsb", 21, unknown)
        if sensor is None:
            return
        lat = lon = math.nan
        fine = _item(rec, "131")
        coarse = _item(rec, "130")
        if fine is not None:
            lat = _signed(fine >> 32, 32) * LATLON_021_131_LSB_DEG
            lon = _signed(fine & 0xFFFFFFFF, 32) * LATLON_021_131_LSB_DEG
        elif coarse is not None:
            lat = _signed(coarse >> 24, 24) * LATLON_021_130_LSB_DEG
            lon = _signed(coarse & 0xFFFFFF, 24) * LATLON_021_130_LSB_DEG
        geometric = _item(rec, "140")
        flight_level = _item(rec, "145")
        tod = next(
            (t for t in (_item(rec, n) for n in ("071", "073", "077")) if t is not None), None
        )
        mode3a = _item(rec, "070")
        callsign = _item(rec, "170")
        self._report(
            out,
            sensor,
            time_s=self._time(tod),
            lat_deg=lat,
            lon_deg=lon,
            alt_m=_signed(geometric, 16) * GEO_HEIGHT_LSB_M if geometric is not None else math.nan,
            callsign=icao_chars_decode(callsign) if callsign is not None else "",
            address=_item(rec, "080"),
            pressure_alt_m=(
                _signed(flight_level, 16) * QUARTER_FL_M if flight_level is not None else math.nan
            ),
            mode3a=mode3a_decode(mode3a) if mode3a is not None else "",
        )

    @staticmethod
    def _report(
        out: dict[str, list[Any]],
        sensor: AsterixSensor,
        *,
        time_s: float,
        callsign: str,
        address: int | None,
        pressure_alt_m: float,
        mode3a: str,
        range_m: float = math.nan,
        az_deg: float = math.nan,
        el_deg: float = math.nan,
        range_rate_mps: float = math.nan,
        lat_deg: float = math.nan,
        lon_deg: float = math.nan,
        alt_m: float = math.nan,
    ) -> None:
        row = {
            "time_s": time_s,
            "sensor_id": sensor.sensor_id,
            "nation": sensor.nation,
            "range_m": range_m,
            "az_deg": az_deg,
            "el_deg": el_deg,
            "range_rate_mps": range_rate_mps,
            "lat_deg": lat_deg,
            "lon_deg": lon_deg,
            "alt_m": alt_m,
            "ident": identity_of(callsign, address),
            "target_id": "",
            "pressure_alt_m": pressure_alt_m,
            "mode3a": mode3a,
            "mode_s_address": f"{address:06x}" if address is not None else "",
        }
        for name, value in row.items():
            out[name].append(value)

    def _cat034(
        self, rec: Any, out: dict[str, list[Any]], unknown: Counter[tuple[int, int, int]]
    ) -> None:
        sensor = self._sensor(rec, "radar", 34, unknown)
        if sensor is None:
            return
        message_type = _item(rec, "000")
        sector = _item(rec, "020")
        period = _item(rec, "041")
        out["time_s"].append(self._time(_item(rec, "030")))
        out["sensor_id"].append(sensor.sensor_id)
        out["message_type"].append(float(message_type) if message_type is not None else math.nan)
        out["sector_az_deg"].append(sector * SECTOR_LSB_DEG if sector is not None else math.nan)
        out["period_s"].append(period * TOD_LSB_S if period is not None else math.nan)

    def _cat062(self, rec: Any, out: dict[str, list[Any]]) -> None:
        code = _item(rec, "010")
        position = _item(rec, "105")
        velocity = _item(rec, "185")
        geometric = _item(rec, "130")
        measured = _item(rec, "136")
        climb = _item(rec, "220")
        mode3a = _item(rec, "060")
        ident = _item(rec, "245")
        address: int | None = None
        number = _item(rec, "040")
        status = _item_bytes(rec, "080") or b""
        ages = compound_subfields(_item_bytes(rec, "290"), _I290_SUBFIELDS, _I290_SIZES)
        accuracy = compound_subfields(_item_bytes(rec, "500"), _I500_SUBFIELDS, _I500_SIZES)
        derived = _item_bytes(rec, "380")
        if not ident and derived is not None and derived[0] & 0x80:
            # ADR, the target address, is I380's first subfield: right after the FSPEC
            start = next((i + 1 for i, b in enumerate(derived) if not b & 1), len(derived))
            if len(derived) >= start + 3:
                address = int.from_bytes(derived[start : start + 3], "big")
        apc, aga = accuracy.get("APC"), accuracy.get("AGA")

        def age_of(name: str) -> float:
            raw = ages.get(name)
            return int.from_bytes(raw, "big") * AGE_062_LSB_S if raw is not None else math.nan

        row = {
            "time_s": self._time(_item(rec, "070")),
            "sac": float(code >> 8) if code is not None else math.nan,
            "sic": float(code & 0xFF) if code is not None else math.nan,
            "track_number": float(number) if number is not None else math.nan,
            "lat_deg": (
                _signed(position >> 32, 32) * LATLON_062_LSB_DEG
                if position is not None
                else math.nan
            ),
            "lon_deg": (
                _signed(position & 0xFFFFFFFF, 32) * LATLON_062_LSB_DEG
                if position is not None
                else math.nan
            ),
            "alt_m": _signed(geometric, 16) * GEO_HEIGHT_LSB_M
            if geometric is not None
            else math.nan,
            "vel_e_mps": (
                _signed(velocity >> 16, 16) * VELOCITY_062_LSB_MPS
                if velocity is not None
                else math.nan
            ),
            "vel_n_mps": (
                _signed(velocity & 0xFFFF, 16) * VELOCITY_062_LSB_MPS
                if velocity is not None
                else math.nan
            ),
            "vel_u_mps": _signed(climb, 16) * CLIMB_062_LSB_MPS if climb is not None else math.nan,
            "pressure_alt_m": (
                _signed(measured, 16) * QUARTER_FL_M if measured is not None else math.nan
            ),
            "mode3a": mode3a_decode(mode3a) if mode3a is not None else "",
            "ident": (
                icao_chars_decode(ident & (2**48 - 1))
                if ident is not None
                else (f"{address:06x}" if address is not None else "")
            ),
            "age_s": age_of("TRK"),
            "first": float(len(status) > 1 and bool(status[1] & 0x20)),
            "last": float(len(status) > 1 and bool(status[1] & 0x40)),
            "mono": float(bool(status[:1]) and bool(status[0] & 0x80)),
            "psr_age_s": age_of("PSR"),
            "ssr_age_s": age_of("SSR"),
            "ads_age_s": age_of("ES"),
            "sigma_e_m": (
                int.from_bytes(apc[:2], "big") * ACCURACY_XY_062_LSB_M if apc else math.nan
            ),
            "sigma_n_m": (
                int.from_bytes(apc[2:], "big") * ACCURACY_XY_062_LSB_M if apc else math.nan
            ),
            "sigma_u_m": aga[0] * GEO_HEIGHT_LSB_M if aga else math.nan,
        }
        for name, value in row.items():
            out[name].append(value)


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True)
class Datagram:
    """One encoded datagram: the sensor (or SDPS) it is from, its last record's time."""

    sensor_id: str
    time_s: float
    data: bytes


@dataclass
class Encoded:
    datagrams: list[Datagram] = field(default_factory=list)
    #: Rows not written, with why ("no SAC/SIC", "beyond 256 NM", "no position", …).
    skipped: Counter[str] = field(default_factory=Counter)
    #: Index (in the table given) of every row written, in time order: the
    #: reports a receiver gets, for measuring like for like.
    written: list[int] = field(default_factory=list)


def _blocks(cat_spec: Any, records: list[Any], max_bytes: int) -> Iterator[tuple[int, bytes]]:
    """Pack records into data blocks of at most `max_bytes` octets; (records used, bytes)."""
    start = 0
    size = 3
    for i, rec in enumerate(records):
        n = len(rec.unparse()) // 8
        if size + n > max_bytes and i > start:
            yield i - start, cat_spec.create(records[start:i]).unparse().to_bytes()
            start, size = i, 3
        size += n
    if start < len(records):
        yield len(records) - start, cat_spec.create(records[start:]).unparse().to_bytes()


def _string(value: Any) -> str:
    return "" if value is None else str(value)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float | np.floating) and math.isfinite(float(value))


def _fits(value: Any, lsb: float, bits: int) -> bool:
    """A finite value that a signed field of `bits` carries without clipping (an altitude
    beyond it, e.g. a ballistic missile's 300 km, leaves its item out)."""
    return _finite(value) and abs(round(float(value) / lsb)) < 2 ** (bits - 1)


def _ident_items(ident: str) -> tuple[int | None, int | None]:
    """(Mode S address, callsign bits) for an `ident` value."""
    if _MODE_S_ADDRESS.match(ident):
        return int(ident, 16), None
    return None, icao_chars_encode(ident) if ident else None


def _encode_rows(
    cat_spec: Any,
    table: Mapping[str, NDArray[Any]],
    sensors: Mapping[str, AsterixSensor],
    family: str,
    make_record: Any,
    max_bytes: int,
) -> Encoded:
    result = Encoded()
    n = len(table["time_s"])
    order = np.argsort(np.asarray(table["time_s"], dtype=np.float64), kind="stable")
    pending: dict[str, list[tuple[float, Any]]] = {}
    for i in order.tolist():
        sensor = sensors.get(_string(table["sensor_id"][i]))
        if sensor is None or sensor.family != family:
            result.skipped["no SAC/SIC for the sensor"] += 1
            continue
        record = make_record(i, sensor, result.skipped)
        if record is not None:
            pending.setdefault(sensor.sensor_id, []).append((float(table["time_s"][i]), record))
            result.written.append(i)
    for sensor_id, rows in pending.items():
        records = [r for _, r in rows]
        done = 0
        for count, data in _blocks(cat_spec, records, max_bytes):
            done += count
            result.datagrams.append(Datagram(sensor_id, rows[done - 1][0], data))
    result.datagrams.sort(key=lambda d: d.time_s)
    assert sum(result.skipped.values()) + sum(len(v) for v in pending.values()) == n
    return result


def encode_cat048(
    reports: Mapping[str, NDArray[Any]],
    sensors: Mapping[str, AsterixSensor],
    epoch: datetime,
    max_bytes: int = 1400,
) -> Encoded:
    """Radar reports (plots-table rows) → CAT048 datagrams, one sensor per datagram.

    Writes I010, I140, I020, I040; I090 from `pressure_alt_m`, I110 from `el_deg`
    (the height it gives at the report's range; a report whose height I110 cannot
    carry, beyond ±62 km, is left out and counted), I120 from `range_rate_mps`,
    I070 from `mode3a`, I220/I240 from `ident` (and `mode_s_address`).
    """
    epoch_tod = seconds_of_day(epoch)
    tod = time_of_day_raw(epoch_tod, np.asarray(reports["time_s"], dtype=np.float64))
    column = _column_getter(reports)
    heights = _heights_m(reports, sensors)

    def record(i: int, sensor: AsterixSensor, skipped: Counter[str]) -> Any:
        rng, az = column("range_m", i), column("az_deg", i)
        if not (_finite(rng) and _finite(az)):
            skipped["no range and azimuth"] += 1
            return None
        if rng > MAX_RHO_M or rng < 0:
            skipped["slant range beyond 256 NM"] += 1
            return None
        items: dict[str, Any] = {
            "010": (("SAC", sensor.sac), ("SIC", sensor.sic)),
            "140": int(tod[i]),
            "040": (
                ("RHO", _scaled(rng, RHO_LSB_M, 16, signed=False)),
                ("THETA", round((az % 360.0) / THETA_LSB_DEG) % 2**16),
            ),
        }
        pressure_alt = column("pressure_alt_m", i)
        el = column("el_deg", i)
        mode3a = mode3a_encode(_string(column("mode3a", i)))
        ident = _string(column("ident", i))
        address, callsign = _ident_items(ident)
        address_text = _string(column("mode_s_address", i))
        if address is None and _MODE_S_ADDRESS.match(address_text):
            address = int(address_text, 16)
        mode_s = address is not None or callsign is not None
        secondary = mode_s or mode3a is not None or _finite(pressure_alt)
        # TYP: 1 single PSR, 2 single SSR, 5 Mode S roll-call; 3D radars are primary
        typ = 5 if mode_s else (2 if secondary else 1)
        items["020"] = (typ << 4,)
        if mode3a is not None:
            items["070"] = mode3a
        if _fits(pressure_alt, QUARTER_FL_M, 14):
            items["090"] = _scaled(pressure_alt, QUARTER_FL_M, 14)
        if _finite(el):
            if not abs(heights[i]) <= MAX_HEIGHT_3D_M:
                skipped["3D height beyond ±62 km (I048/110)"] += 1
                return None
            items["110"] = _scaled(float(heights[i]), HEIGHT_3D_LSB_M, 14)
        range_rate = column("range_rate_mps", i)
        if _finite(range_rate):
            items["120"] = {"CAL": _scaled(range_rate, 1.0, 10)}  # D = 0: valid
        if address is not None:
            items["220"] = address
        if callsign is not None:
            items["240"] = callsign
        return CAT048.cv_record.create(items)

    return _encode_rows(CAT048, reports, sensors, "radar", record, max_bytes)


def _heights_m(
    reports: Mapping[str, NDArray[Any]], sensors: Mapping[str, AsterixSensor]
) -> FloatArray:
    """Each row's height above the ellipsoid from its elevation (NaN without one), per sensor."""
    n = len(reports["time_s"])
    heights = np.full(n, math.nan)
    if "el_deg" not in reports:
        return heights
    el = np.asarray(reports["el_deg"], dtype=np.float64)
    rng = np.asarray(reports["range_m"], dtype=np.float64)
    az = np.asarray(reports["az_deg"], dtype=np.float64)
    sensor_ids = np.asarray(reports["sensor_id"], dtype=object)
    usable = np.isfinite(el) & np.isfinite(rng) & np.isfinite(az)
    for sensor_id in set(sensor_ids[usable].tolist()):
        sensor = sensors.get(str(sensor_id))
        if sensor is None:
            continue
        rows = usable & (sensor_ids == sensor_id)
        heights[rows] = elevation_to_height_m(sensor, rng[rows], az[rows], el[rows])
    return heights


def encode_cat021(
    reports: Mapping[str, NDArray[Any]],
    sensors: Mapping[str, AsterixSensor],
    epoch: datetime,
    max_bytes: int = 1400,
) -> Encoded:
    """ADS-B reports → CAT021 datagrams: I010, I040, I071, I131, I140, I145, I070, I080, I170."""
    epoch_tod = seconds_of_day(epoch)
    tod = time_of_day_raw(epoch_tod, np.asarray(reports["time_s"], dtype=np.float64))
    column = _column_getter(reports)

    def record(i: int, sensor: AsterixSensor, skipped: Counter[str]) -> Any:
        lat, lon = column("lat_deg", i), column("lon_deg", i)
        if not (_finite(lat) and _finite(lon)):
            skipped["no position"] += 1
            return None
        ident = _string(column("ident", i))
        address, callsign = _ident_items(ident)
        address_text = _string(column("mode_s_address", i))
        if address is None and _MODE_S_ADDRESS.match(address_text):
            address = int(address_text, 16)
        # ATP 0: 24-bit ICAO address; 3: anonymous
        atp = 0 if address is not None else 3
        items: dict[str, Any] = {
            "010": (("SAC", sensor.sac), ("SIC", sensor.sic)),
            "040": ((atp << 4) | (0 << 2),),
            "071": int(tod[i]),
            "131": (
                ("LAT", _scaled(lat, LATLON_021_131_LSB_DEG, 32)),
                ("LON", _scaled(((lon + 180.0) % 360.0) - 180.0, LATLON_021_131_LSB_DEG, 32)),
            ),
        }
        alt = column("alt_m", i)
        if _fits(alt, GEO_HEIGHT_LSB_M, 16):
            items["140"] = _scaled(alt, GEO_HEIGHT_LSB_M, 16)
        pressure_alt = column("pressure_alt_m", i)
        if _fits(pressure_alt, QUARTER_FL_M, 16):
            items["145"] = _scaled(pressure_alt, QUARTER_FL_M, 16)
        mode3a = mode3a_encode(_string(column("mode3a", i)))
        if mode3a is not None:
            items["070"] = mode3a
        if address is not None:
            items["080"] = address
        if callsign is not None:
            items["170"] = callsign
        return CAT021.cv_record.create(items)

    return _encode_rows(CAT021, reports, sensors, "adsb", record, max_bytes)


def encode_cat034(
    sensor: AsterixSensor,
    epoch: datetime,
    time_s: float,
    message_type: int,
    sector_az_deg: float | None = None,
    period_s: float | None = None,
) -> bytes:
    """One CAT034 message: 1 north marker (with I041, the rotation period), 2 sector crossing."""
    raw_tod = int(time_of_day_raw(seconds_of_day(epoch), np.array([time_s]))[0])
    items: dict[str, Any] = {
        "000": message_type,
        "010": (("SAC", sensor.sac), ("SIC", sensor.sic)),
        "030": raw_tod,
    }
    if sector_az_deg is not None:
        items["020"] = round((sector_az_deg % 360.0) / SECTOR_LSB_DEG) % 256
    if period_s is not None:
        items["041"] = _scaled(period_s, TOD_LSB_S, 16, signed=False)
    data: bytes = CAT034.create([CAT034.cv_record.create(items)]).unparse().to_bytes()
    return data


@dataclass(frozen=True)
class SystemCode:
    """The SAC/SIC a node's tracker sends its CAT062 under."""

    sac: int
    sic: int


def encode_cat062(
    picture: Mapping[str, NDArray[Any]],
    system: SystemCode,
    epoch: datetime,
    max_bytes: int = 1400,
    first_seen_s: dict[str, float] | None = None,
) -> Encoded:
    """One viewer's picture rows → CAT062 datagrams, one snapshot after another.

    Writes I010, I015, I070, I105, I185, I040, I080 (MON from `sources`, TSB on a
    track's first snapshot, TSE on its last), I290 (TRK: the track's age since it
    first appeared in `picture`; PSR, SSR, ES from `psr_age_s`, `ssr_age_s`,
    `ads_age_s`; each saturating at 63.75 s), I130 from `alt_m`, I220 from
    `vel_u_mps`; where the rows have them: I136 from `pressure_alt_m`, I060 from
    `mode3a`, I245 from a callsign `ident` or I380 ADR from a Mode S address `ident`,
    I500 APC from `sigma_e_m`/`sigma_n_m` and AGA from `sigma_u_m`. An altitude beyond
    what its item carries (±62 km: a ballistic missile high up) leaves the item out
    rather than clip it; so does an accuracy beyond its subfield's range.

    Live (one snapshot at a time): `first_seen_s` holds each track's first time
    across calls (and is updated); ages and TSB count from it, and TSE is never set
    (a snapshot does not know a track's last).
    """
    epoch_tod = seconds_of_day(epoch)
    times = np.asarray(picture["time_s"], dtype=np.float64)
    tod = time_of_day_raw(epoch_tod, times)
    column = _column_getter(picture)
    track_ids = [_string(t) for t in picture["track_id"]]
    order = np.lexsort((np.array(track_ids, dtype=object).astype(str), times))
    first_seen: dict[str, float] = first_seen_s if first_seen_s is not None else {}
    last_seen: dict[str, float] = {}
    for i in order.tolist():
        first_seen.setdefault(track_ids[i], float(times[i]))
        last_seen[track_ids[i]] = math.inf if first_seen_s is not None else float(times[i])
    result = Encoded()
    snapshot: list[Any] = []
    snapshot_time: float | None = None

    def flush() -> None:
        if snapshot and snapshot_time is not None:
            for _, data in _blocks(CAT062, snapshot, max_bytes):
                result.datagrams.append(Datagram(f"{system.sac}/{system.sic}", snapshot_time, data))
        snapshot.clear()

    for i in order.tolist():
        t = float(times[i])
        if snapshot_time is None or t != snapshot_time:
            flush()
            snapshot_time = t
        lat, lon = column("lat_deg", i), column("lon_deg", i)
        if not (_finite(lat) and _finite(lon)):
            result.skipped["no position"] += 1
            continue
        track_id = track_ids[i]
        sources = picture["sources"][i] if "sources" in picture else []
        mono = len(list(sources)) <= 1
        first, last = t == first_seen[track_id], t == last_seen[track_id]
        items: dict[str, Any] = {
            "010": (("SAC", system.sac), ("SIC", system.sic)),
            "015": 0,
            "070": int(tod[i]),
            "105": (
                ("LAT", _scaled(lat, LATLON_062_LSB_DEG, 32)),
                ("LON", _scaled(((lon + 180.0) % 360.0) - 180.0, LATLON_062_LSB_DEG, 32)),
            ),
            "040": track_number_of(track_id),
            # MON SPI MRH SRC(3) CNF | SIM TSE TSB FPC AFF STP KOS; MRH 1: geometric altitude
            "080": ((int(mono) << 6) | (1 << 4), (int(last) << 5) | (int(first) << 4)),
            "290": {
                "TRK": _scaled(
                    min(t - first_seen[track_id], AGE_062_MAX_S), AGE_062_LSB_S, 8, False
                ),
                **{
                    sub: _scaled(min(age, AGE_062_MAX_S), AGE_062_LSB_S, 8, False)
                    for name, sub in _AGE_SUBFIELDS
                    if _finite(age := column(name, i)) and age >= 0.0
                },
            },
        }
        accuracy = _accuracy_062(
            column("sigma_e_m", i), column("sigma_n_m", i), column("sigma_u_m", i)
        )
        if accuracy:
            items["500"] = accuracy
        ve, vn = column("vel_e_mps", i), column("vel_n_mps", i)
        if _finite(ve) and _finite(vn):
            items["185"] = (
                ("VX", _scaled(ve, VELOCITY_062_LSB_MPS, 16)),
                ("VY", _scaled(vn, VELOCITY_062_LSB_MPS, 16)),
            )
        alt = column("alt_m", i)
        if _fits(alt, GEO_HEIGHT_LSB_M, 16):
            items["130"] = _scaled(alt, GEO_HEIGHT_LSB_M, 16)
        vu = column("vel_u_mps", i)
        if _finite(vu):
            items["220"] = _scaled(vu, CLIMB_062_LSB_MPS, 16)
        pressure_alt = column("pressure_alt_m", i)
        if _fits(pressure_alt, QUARTER_FL_M, 16):
            items["136"] = _scaled(pressure_alt, QUARTER_FL_M, 16)
        mode3a = mode3a_encode(_string(column("mode3a", i)))
        if mode3a is not None:
            items["060"] = mode3a
        ident = _string(column("ident", i))
        callsign = icao_chars_encode(ident) if ident and not _MODE_S_ADDRESS.match(ident) else None
        if callsign is not None:
            items["245"] = (("STI", 1), 0, ("CHR", callsign))  # STI 1: callsign not downlinked
        elif ident and _MODE_S_ADDRESS.match(ident):
            items["380"] = {"ADR": int(ident, 16)}  # aircraft derived data: target address
        snapshot.append(CAT062.cv_record.create(items))
    flush()
    return result


def _accuracy_062(sigma_e: Any, sigma_n: Any, sigma_u: Any) -> dict[str, Any]:
    """I500's subfields from 1σ position errors (m): APC (σx east, σy north of the track's
    local plane) and AGA (σ of the geometric altitude). A σ beyond its subfield's range
    leaves that subfield out (an understated error is worse than none)."""
    out: dict[str, Any] = {}
    apc_max = ((1 << 16) - 1) * ACCURACY_XY_062_LSB_M
    if (
        _finite(sigma_e)
        and _finite(sigma_n)
        and 0 <= sigma_e <= apc_max
        and 0 <= sigma_n <= apc_max
    ):
        out["APC"] = (
            ("X", _scaled(sigma_e, ACCURACY_XY_062_LSB_M, 16, False)),
            ("Y", _scaled(sigma_n, ACCURACY_XY_062_LSB_M, 16, False)),
        )
    if _finite(sigma_u) and 0 <= sigma_u <= 255 * GEO_HEIGHT_LSB_M:
        out["AGA"] = _scaled(sigma_u, GEO_HEIGHT_LSB_M, 8, False)
    return out


def _column_getter(table: Mapping[str, NDArray[Any]]) -> Any:
    def get(name: str, i: int) -> Any:
        values = table.get(name)
        return None if values is None else values[i]

    return get


def raw_datablock_count(data: bytes) -> int:
    """Data blocks in `data` as libasterix frames them (a cross-check of `split_datablocks`)."""
    blocks = RawDatablock.parse(Bits.from_bytes(data))
    if isinstance(blocks, ValueError):
        raise AsterixError(str(blocks))
    return len(blocks)


# --------------------------------------------------------------------------- recordings


#: Categories that start a data block of a recording this codec reads.
KNOWN_CATEGORIES: Final = frozenset({21, 34, 48, 62, 65, 1, 2, 8, 10, 19, 20, 23, 25, 63})


def raw_recording_blocks(data: bytes) -> Iterator[tuple[int, bytes | AsterixError]]:
    """(offset, one data block) for each block of a raw recording (blocks back to back).

    Where the framing is broken (a length that runs past the end or below 3) an
    `AsterixError` is yielded in place of a block, and reading resumes at the next
    octet that starts a plausible block (a known category whose length fits).
    """
    offset, n = 0, len(data)
    while offset < n:
        length = int.from_bytes(data[offset + 1 : offset + 3], "big") if n - offset >= 3 else 0
        if 3 <= length <= n - offset:
            yield offset, data[offset : offset + length]
            offset += length
            continue
        yield offset, AsterixError(f"no data block here (length field {length})", offset)
        offset += 1
        while offset < n:
            length = int.from_bytes(data[offset + 1 : offset + 3], "big")
            if data[offset] in KNOWN_CATEGORIES and 3 <= length <= n - offset:
                break
            offset += 1


@dataclass
class IngestCounts:
    datagrams: int = 0
    failed: int = 0
    reports: int = 0
    #: Reports without the position their sensor measures (e.g. CAT048 with no I040).
    no_position: int = 0
    service_messages: int = 0
    tracks: int = 0
    unknown: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    other_categories: Counter[int] = field(default_factory=Counter)


class AsterixIngest:
    """Datagrams in, one report table out: the sans-I/O core of `airpicture ingest` and of a
    node's ASTERIX listener. A datagram that fails to decode is counted (and returned to the
    caller to log); it stops nothing."""

    def __init__(self, sensors: Sequence[AsterixSensor], epoch: datetime) -> None:
        self.decoder = AsterixDecoder(sensors, epoch)
        self.counts = IngestCounts()
        self._parts: list[Table] = []

    def datagram(self, data: bytes) -> AsterixError | None:
        self.counts.datagrams += 1
        try:
            decoded = self.decoder.decode(data)
        except AsterixError as exc:
            self.counts.failed += 1
            return exc
        reports = decoded.reports
        has_position = (np.isfinite(reports["range_m"]) & np.isfinite(reports["az_deg"])) | (
            np.isfinite(reports["lat_deg"]) & np.isfinite(reports["lon_deg"])
        )
        keep = has_position & np.isfinite(reports["time_s"])
        self.counts.no_position += int((~keep).sum())
        self.counts.reports += int(keep.sum())
        self.counts.service_messages += len(decoded.service["time_s"])
        self.counts.tracks += len(decoded.tracks["time_s"])
        self.counts.unknown.update(decoded.unknown)
        self.counts.other_categories.update(decoded.other_categories)
        if keep.any():
            self._parts.append({k: v[keep] for k, v in reports.items()})
        return None

    def reports(self) -> Table:
        """Every kept report so far, in time order."""
        if not self._parts:
            return _to_table(_new_rows(REPORT_COLUMNS))
        table = {k: np.concatenate([p[k] for p in self._parts]) for k in REPORT_COLUMNS}
        order = np.argsort(table["time_s"], kind="stable")
        return {k: v[order] for k, v in table.items()}
