// Small spherical helpers for display geometry (sectors, ellipses, leaders): metres on a sphere
// of the mean Earth radius are well inside a pixel at the scales these shapes are drawn.
export const EARTH_RADIUS_M = 6371008.8;
const D2R = Math.PI / 180;

// Point at ground distance `dist_m` along bearing `az_deg` (clockwise from north).
export function destination(latDeg, lonDeg, azDeg, distM) {
  const d = distM / EARTH_RADIUS_M, az = azDeg * D2R;
  const lat1 = latDeg * D2R, lon1 = lonDeg * D2R;
  const lat2 = Math.asin(Math.sin(lat1) * Math.cos(d) + Math.cos(lat1) * Math.sin(d) * Math.cos(az));
  const lon2 = lon1 + Math.atan2(Math.sin(az) * Math.sin(d) * Math.cos(lat1),
    Math.cos(d) - Math.sin(lat1) * Math.sin(lat2));
  return [lat2 / D2R, ((lon2 / D2R + 540) % 360) - 180];
}

// Outline of a sensor's coverage on the ground: a full ring, a sector, or an annular sector.
export function coverageOutline(site) {
  const maxR = site.max_range_m, minR = site.min_range_m || 0;
  const hasSector = site.boresight_az_deg != null && site.half_width_deg != null && site.half_width_deg < 180;
  const a0 = hasSector ? site.boresight_az_deg - site.half_width_deg : 0;
  const a1 = hasSector ? site.boresight_az_deg + site.half_width_deg : 360;
  const n = Math.max(24, Math.ceil((a1 - a0) / 2));
  const outer = [], inner = [];
  for (let i = 0; i <= n; i++) {
    const az = a0 + (a1 - a0) * i / n;
    outer.push(destination(site.lat_deg, site.lon_deg, az, maxR));
    if (minR > 0) inner.push(destination(site.lat_deg, site.lon_deg, az, minR));
  }
  if (!hasSector && minR === 0) return [outer];
  if (minR > 0) return [outer.concat(inner.reverse(), [outer[0]])];
  return [[[site.lat_deg, site.lon_deg], ...outer, [site.lat_deg, site.lon_deg]]];
}

// Ellipse boundary: semi-axes in metres, major axis along `orientation_deg` clockwise from north.
export function ellipseOutline(latDeg, lonDeg, semiMajorM, semiMinorM, orientationDeg, n = 72) {
  const out = [];
  const th = orientationDeg * D2R;
  for (let i = 0; i <= n; i++) {
    const t = 2 * Math.PI * i / n;
    const a = semiMajorM * Math.cos(t), b = semiMinorM * Math.sin(t);
    // major-axis unit vector (east, north) = (sin th, cos th); minor = (cos th, -sin th)
    const east = a * Math.sin(th) + b * Math.cos(th);
    const north = a * Math.cos(th) - b * Math.sin(th);
    const dist = Math.hypot(east, north);
    const az = Math.atan2(east, north) / D2R;
    out.push(destination(latDeg, lonDeg, az, dist));
  }
  return out;
}

export function headingDeg(ve, vn) { return ((Math.atan2(ve, vn) / D2R) + 360) % 360; }
export function speedMps(ve, vn, vu) { return Math.hypot(ve, vn, vu || 0); }

export function fmtLat(v) { return `${Math.abs(v).toFixed(3)}°${v >= 0 ? "N" : "S"}`; }
export function fmtLon(v) { return `${Math.abs(v).toFixed(3)}°${v >= 0 ? "E" : "W"}`; }

// Scenario seconds → "HH:MM:SSZ" from the run's epoch (an ISO 8601 UTC string).
export function utcLabel(epochIso, timeS, withDate = false) {
  const d = new Date(Date.parse(epochIso) + timeS * 1000);
  const s = d.toISOString();
  return withDate ? `${s.slice(0, 10)} ${s.slice(11, 19)}Z` : `${s.slice(11, 19)}Z`;
}
export function elapsedLabel(timeS) {
  const sign = timeS < 0 ? "-" : "+";
  const t = Math.abs(Math.round(timeS));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
  const mm = String(m).padStart(2, "0"), ss = String(s).padStart(2, "0");
  return h ? `T${sign}${h}:${mm}:${ss}` : `T${sign}${mm}:${ss}`;
}
