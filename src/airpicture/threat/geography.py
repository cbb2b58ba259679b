"""Where a point is, in words: land or sea, which country, how far from which named place.

Country outlines (Natural Earth, from the world-atlas package installed by
`make setup`) are read at the edge (`airpicture.atlas.country_outlines`) and
given to `Geography`, which reads no file; named places come from the scenario's
`places`. Point-in-polygon is matplotlib's `Path.contains_points`
ring by ring with the even-odd rule (a hole is a ring inside a ring), after a
bounding-box test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from matplotlib.path import Path as MplPath
from numpy.typing import ArrayLike, NDArray

from airpicture.geo import geodesic_bearing_deg, geodesic_distance_m
from airpicture.geo.land import CountryOutlines

FloatArray = NDArray[np.float64]

#: ISO 3166-1 alpha-3 → the numeric codes of the territories world-atlas draws
#: for that nation (its dependencies included where they are separate shapes).
TERRITORIES: Final[dict[str, tuple[str, ...]]] = {
    "USA": ("840", "316", "580", "016", "630", "850"),
    "JPN": ("392",),
    "AUS": ("036", "574", "162", "166"),
    "KOR": ("410",),
    "GBR": ("826",),
    "CAN": ("124",),
    "FRA": ("250",),
    "DEU": ("276",),
    "NZL": ("554",),
    "PHL": ("608",),
    "TWN": ("158",),
    "PRK": ("408",),
    "CHN": ("156",),
    "RUS": ("643",),
}

_COMPASS: Final = (
    "north", "north-northeast", "northeast", "east-northeast",
    "east", "east-southeast", "southeast", "south-southeast",
    "south", "south-southwest", "southwest", "west-southwest",
    "west", "west-northwest", "northwest", "north-northwest",
)  # fmt: skip


def compass_point(bearing_deg: float) -> str:
    """16-point compass name of a bearing (degrees clockwise from north)."""
    return _COMPASS[int(((bearing_deg % 360.0) + 11.25) // 22.5) % 16]


def round_distance_km(distance_m: float) -> str:
    """'1,180 km' (nearest 10 km from 100 km on), '45 km', ...: no false precision."""
    km = distance_m / 1000.0
    value = round(km, -1) if km >= 100.0 else round(km)
    return f"{int(value):,} km"


@dataclass(frozen=True)
class _Country:
    iso_numeric: str
    name: str
    bbox: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max
    paths: tuple[MplPath, ...]
    #: (R, 4): each ring's box, as `bbox`.
    ring_boxes: NDArray[np.float64]


def _in_boxes(lon: FloatArray, lat: FloatArray, boxes: FloatArray) -> NDArray[np.bool_]:
    """(N, B): point n lies in box b (lon_min, lat_min, lon_max, lat_max), edges included."""
    result: NDArray[np.bool_] = (
        (lon[:, None] >= boxes[:, 0])
        & (lon[:, None] <= boxes[:, 2])
        & (lat[:, None] >= boxes[:, 1])
        & (lat[:, None] <= boxes[:, 3])
    )
    return result


class Geography:
    """Country lookup (land/sea) and named-place descriptions, from outlines given."""

    def __init__(
        self,
        places: Sequence[tuple[str, float, float]],
        outlines: CountryOutlines,
    ) -> None:
        self.places = list(places)
        self._place_lat = np.array([p[1] for p in self.places], dtype=np.float64)
        self._place_lon = np.array([p[2] for p in self.places], dtype=np.float64)
        #: Why the land/sea test is unavailable, or "" when it works.
        self.problem = ""
        if not outlines.shapes:
            why = outlines.problem or "no country outlines given"
            self.problem = f"{why}; land and sea not told apart"
        countries: list[_Country] = []
        for shape in outlines.shapes:
            lon_min = min(float(r[:, 0].min()) for r in shape.rings)
            lon_max = max(float(r[:, 0].max()) for r in shape.rings)
            lat_min = min(float(r[:, 1].min()) for r in shape.rings)
            lat_max = max(float(r[:, 1].max()) for r in shape.rings)
            rings = [r for r in shape.rings if len(r) >= 3]
            boxes = np.array(
                [(r[:, 0].min(), r[:, 1].min(), r[:, 0].max(), r[:, 1].max()) for r in rings],
                dtype=np.float64,
            ).reshape(-1, 4)
            countries.append(
                _Country(
                    shape.iso_numeric,
                    shape.name,
                    (lon_min, lat_min, lon_max, lat_max),
                    tuple(MplPath(r) for r in rings),
                    boxes,
                )
            )
        self._countries = countries
        # (C, 4): lon_min, lat_min, lon_max, lat_max — every country's box tested at once.
        self._bbox = np.array([c.bbox for c in countries], dtype=np.float64).reshape(-1, 4)
        self._name_of = {c.iso_numeric: c.name for c in countries}

    @property
    def has_outlines(self) -> bool:
        return bool(self._countries)

    def country_codes_at(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.object_]:
        """ISO numeric code of the country under each point, '' at sea (or unknown)."""
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
        lon = (np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)) + 180.0) % 360.0 - 180.0
        out = np.full(lat.shape, "", dtype=object)
        ok = np.isfinite(lat) & np.isfinite(lon)
        # Which points fall in which country's box, then in which of its rings' boxes:
        # the outlines are tested only there (a ring's box holds the whole ring).
        in_box = _in_boxes(lon, lat, self._bbox) & ok[:, None]
        for k in np.flatnonzero(in_box.any(axis=0)).tolist():
            c = self._countries[k]
            cand = np.flatnonzero(in_box[:, k])
            in_ring_box = _in_boxes(lon[cand], lat[cand], c.ring_boxes)
            # Even-odd rule over the rings: a point in a hole is in two of them.
            count = np.zeros(cand.size, np.int64)
            for r in np.flatnonzero(in_ring_box.any(axis=0)).tolist():
                sel = np.flatnonzero(in_ring_box[:, r])
                pts = np.stack([lon[cand[sel]], lat[cand[sel]]], axis=1)
                count[sel] += c.paths[r].contains_points(pts).astype(np.int64)
            inside = cand[(count % 2) == 1]
            out[inside] = c.iso_numeric
        return out

    def country_name(self, iso_numeric: str) -> str:
        return self._name_of.get(iso_numeric, "")

    def nearest_place(self, lat_deg: float, lon_deg: float) -> tuple[str, float, float] | None:
        """(name, distance_m, bearing from the place to the point in degrees), or None."""
        if not self.places:
            return None
        d = geodesic_distance_m(self._place_lat, self._place_lon, lat_deg, lon_deg)
        k = int(np.argmin(d))
        bearing = float(
            geodesic_bearing_deg(self._place_lat[k], self._place_lon[k], lat_deg, lon_deg)
        )
        return self.places[k][0], float(d[k]), bearing

    def describe(self, lat_deg: float, lon_deg: float) -> tuple[str, list[dict[str, object]]]:
        """'about 1,180 km east of Cape Erimo, at sea' and the place rows behind it."""
        near = self.nearest_place(lat_deg, lon_deg)
        places: list[dict[str, object]] = []
        if near is None:
            ns = "N" if lat_deg >= 0 else "S"
            ew = "E" if lon_deg >= 0 else "W"
            where = f"at {abs(lat_deg):.1f}°{ns} {abs(lon_deg):.1f}°{ew}"
        else:
            name, dist, bearing = near
            places.append(
                {"name": name, "distance_m": round(dist), "bearing_deg": round(bearing, 1)}
            )
            if dist < 10_000.0:
                where = f"within 10 km of {name}"
            else:
                where = f"about {round_distance_km(dist)} {compass_point(bearing)} of {name}"
        if not self.has_outlines:
            return where, places
        code = str(self.country_codes_at(lat_deg, lon_deg)[0])
        if code:
            return f"{where}, on land in {self.country_name(code)}", places
        return f"{where}, at sea", places
