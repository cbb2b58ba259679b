// What the operator reads: units, track numbers, times to go, coordinates (DMS, MGRS) and
// geodesic range and bearing. Pure functions, no DOM: the browser tests call them directly.

// ------------------------------------------------------------------ WGS-84
// The ellipsoid's constants: the same numbers as airpicture.geo (constants.py, pyproj's WGS 84).
export const WGS84_A_M = 6378137.0;
export const WGS84_F = 1 / 298.257223563;
const WGS84_B_M = WGS84_A_M * (1 - WGS84_F);
const D2R = Math.PI / 180;

// ------------------------------------------------------------------ units
export const FT_PER_M = 1 / 0.3048;
export const KT_PER_MPS = 3600 / 1852;
export const M_PER_NM = 1852;

// Two unit systems, one at a time everywhere (table, labels, panel, warnings, tools).
export const UNIT_SYSTEMS = {
  aviation: { name: "Aviation (FL, kt, NM)", alt: "FL", speed: "kt", range: "NM" },
  metric: { name: "Metric (km, m/s, km)", alt: "km", speed: "m/s", range: "km" },
};

// Altitude for display: clamped at the surface (an estimate below it is shown as the surface,
// "SFC"), as a flight level (aviation; above FL999 in thousands of feet) or in km / m (metric).
export function fmtAlt(altM, units) {
  if (altM == null || !Number.isFinite(altM)) return "—";
  const h = Math.max(altM, 0);
  if (units === "metric") return h >= 1000 ? `${(h / 1000).toFixed(1)} km` : h < 1 ? "SFC" : `${Math.round(h)} m`;
  const ft = h * FT_PER_M;
  if (ft < 50) return "SFC";
  return ft < 99950 ? `FL${String(Math.round(ft / 100)).padStart(3, "0")}` : `${Math.round(ft / 1000)} kft`;
}

// An altitude's 1σ in the same unit as fmtAlt's (ft in aviation: a flight level is 100 ft).
export function fmtAltSigma(sigmaM, units) {
  if (sigmaM == null || !Number.isFinite(sigmaM)) return "";
  if (units === "metric") return sigmaM >= 1000 ? `±${(sigmaM / 1000).toFixed(1)} km` : `±${Math.round(sigmaM)} m`;
  return `±${Math.round(sigmaM * FT_PER_M).toLocaleString("en-US")} ft`;
}

// A number of a table column, for sorting and for the altitude filter: in the unit shown.
export function altValue(altM, units) {
  const h = Math.max(altM || 0, 0);
  return units === "metric" ? h / 1000 : h * FT_PER_M / 100;
}

export function fmtSpeed(mps, units) {
  if (mps == null || !Number.isFinite(mps)) return "—";
  return units === "metric" ? `${Math.round(mps)} m/s` : `${Math.round(mps * KT_PER_MPS)} kt`;
}

export function speedValue(mps, units) { return units === "metric" ? mps : mps * KT_PER_MPS; }

export function fmtRange(m, units) {
  if (units === "metric") return m >= 100000 ? `${Math.round(m / 1000)} km` : `${(m / 1000).toFixed(1)} km`;
  const nm = m / M_PER_NM;
  return nm >= 100 ? `${Math.round(nm)} NM` : `${nm.toFixed(1)} NM`;
}

// A round length (a scale bar's, a range ring's) without a useless ".0": "50 NM", "0.5 km".
export function fmtRoundRange(m, units) { return fmtRange(m, units).replace(/\.0 /, " "); }

export function rangeUnitM(units) { return units === "metric" ? 1000 : M_PER_NM; }

export function fmtHeading(deg) { return `${String(Math.round(((deg % 360) + 360) % 360) % 360).padStart(3, "0")}°`; }

// ------------------------------------------------------------------ track numbers
// One track-number format everywhere (table, labels, panel, alerts, banner): a network track
// number of digits as "TN" and at least five digits; any other id as it is.
export function fmtTN(id) {
  if (id == null || id === "") return "—";
  const s = String(id);
  return /^\d+$/.test(s) ? `TN${s.padStart(5, "0")}` : s;
}

// ------------------------------------------------------------------ times to go
// Seconds to an event, as an operator reads it: "in 40 s", "in 3 min 05 s", "impact imminent"
// under IMMINENT_S, and for one in the past, how long ago.
export const IMMINENT_S = 10;
export function fmtTimeToGo(seconds, event = "impact") {
  if (seconds == null || !Number.isFinite(seconds)) return "";
  if (seconds < -IMMINENT_S) return `${event} ${fmtDuration(-seconds)} ago`;
  if (seconds < IMMINENT_S) return `${event} imminent`;
  return `${event} in ${fmtDuration(seconds)}`;
}

export function fmtDuration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60), r = s % 60;
  if (m < 60) return `${m} min ${String(r).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

// ------------------------------------------------------------------ coordinates
// Degrees, minutes, seconds to a tenth: 35°41'22.3"N 139°41'30.1"E.
export function fmtDMS(deg, isLat) {
  const hemi = isLat ? (deg >= 0 ? "N" : "S") : (deg >= 0 ? "E" : "W");
  let tenths = Math.round(Math.abs(deg) * 36000);
  const d = Math.floor(tenths / 36000); tenths -= d * 36000;
  const m = Math.floor(tenths / 600); tenths -= m * 600;
  const s = (tenths / 10).toFixed(1).padStart(4, "0");
  return `${d}°${String(m).padStart(2, "0")}'${s}"${hemi}`;
}

export function fmtLatLonDMS(lat, lon) { return `${fmtDMS(lat, true)} ${fmtDMS(lon, false)}`; }

// UTM zone of a point, with the Norway and Svalbard exceptions of the MGRS grid.
export function utmZone(lat, lon) {
  const lon0 = ((lon + 180) % 360 + 360) % 360 - 180;
  let zone = Math.floor((lon0 + 180) / 6) + 1;
  if (lat >= 56 && lat < 64 && lon0 >= 3 && lon0 < 12) zone = 32;
  if (lat >= 72 && lat < 84 && lon0 >= 0 && lon0 < 42) zone = lon0 < 9 ? 31 : lon0 < 21 ? 33 : lon0 < 33 ? 35 : 37;
  return zone;
}

// Transverse Mercator on WGS-84 by Krüger's series to n^6 (sub-millimetre inside a zone):
// the UTM easting and northing (m) of a point in `zone`.
const N3 = WGS84_F / (2 - WGS84_F);
const TM_A = WGS84_A_M / (1 + N3) * (1 + N3 ** 2 / 4 + N3 ** 4 / 64 + N3 ** 6 / 256);
const ALPHA = [
  N3 / 2 - 2 / 3 * N3 ** 2 + 5 / 16 * N3 ** 3 + 41 / 180 * N3 ** 4 - 127 / 288 * N3 ** 5 + 7891 / 37800 * N3 ** 6,
  13 / 48 * N3 ** 2 - 3 / 5 * N3 ** 3 + 557 / 1440 * N3 ** 4 + 281 / 630 * N3 ** 5 - 1983433 / 1935360 * N3 ** 6,
  61 / 240 * N3 ** 3 - 103 / 140 * N3 ** 4 + 15061 / 26880 * N3 ** 5 + 167603 / 181440 * N3 ** 6,
  49561 / 161280 * N3 ** 4 - 179 / 168 * N3 ** 5 + 6601661 / 7257600 * N3 ** 6,
  34729 / 80640 * N3 ** 5 - 3418889 / 1995840 * N3 ** 6,
  212378941 / 319334400 * N3 ** 6,
];
export function toUTM(lat, lon, zone = utmZone(lat, lon)) {
  const k0 = 0.9996;
  const phi = lat * D2R;
  let dl = lon - (zone * 6 - 183);
  dl = ((dl + 540) % 360) - 180;
  const lam = dl * D2R;
  // t = sinh(atanh(sin φ) − (2√n/(1+n)) atanh((2√n/(1+n)) sin φ))   conformal latitude
  const e = 2 * Math.sqrt(N3) / (1 + N3);
  const t = Math.sinh(Math.atanh(Math.sin(phi)) - e * Math.atanh(e * Math.sin(phi)));
  const xi = Math.atan2(t, Math.cos(lam));
  const eta = Math.atanh(Math.sin(lam) / Math.sqrt(1 + t * t));
  let x = eta, y = xi;
  for (let j = 1; j <= 6; j++) {
    x += ALPHA[j - 1] * Math.cos(2 * j * xi) * Math.sinh(2 * j * eta);
    y += ALPHA[j - 1] * Math.sin(2 * j * xi) * Math.cosh(2 * j * eta);
  }
  return { zone, easting: 500000 + k0 * TM_A * x, northing: (lat < 0 ? 10000000 : 0) + k0 * TM_A * y };
}

const BANDS = "CDEFGHJKLMNPQRSTUVWXX";
const COLUMN_SETS = ["ABCDEFGH", "JKLMNPQR", "STUVWXYZ"];
const ROWS = "ABCDEFGHJKLMNPQRSTUV";

// MGRS (WGS-84, the "AA" lettering) to `digits` per coordinate (5: 1 m), truncated as the
// standard says: "54SUE1234567890" as "54S UE 12345 67890". Outside 80°S–84°N (the polar UPS
// grids, not drawn here) it says so.
export function toMGRS(lat, lon, digits = 5) {
  if (!(lat >= -80 && lat < 84)) return "outside the UTM grid (polar)";
  const { zone, easting, northing } = toUTM(lat, lon);
  const band = BANDS[Math.floor((lat + 80) / 8)];
  const column = COLUMN_SETS[(zone - 1) % 3][Math.floor(easting / 100000) - 1];
  const row = ROWS[(Math.floor(northing / 100000) + (zone % 2 === 0 ? 5 : 0)) % 20];
  const scale = 10 ** (5 - digits);
  const e = String(Math.floor((easting % 100000) / scale)).padStart(digits, "0");
  const n = String(Math.floor((northing % 100000) / scale)).padStart(digits, "0");
  return `${zone}${band} ${column}${row} ${e} ${n}`;
}

// ------------------------------------------------------------------ geodesic range and bearing
// Vincenty's inverse formula on WGS-84 (0.5 mm; iterated to 1e-12 rad): ground distance (m)
// and initial and final azimuths (degrees clockwise from north). For nearly antipodal points,
// where it does not converge, a sphere of the mean radius (within 0.5 %) and `converged` false.
export function geodesicInverse(lat1, lon1, lat2, lon2) {
  const a = WGS84_A_M, b = WGS84_B_M, f = WGS84_F;
  const L = ((lon2 - lon1 + 540) % 360 - 180) * D2R;
  const U1 = Math.atan((1 - f) * Math.tan(lat1 * D2R)), U2 = Math.atan((1 - f) * Math.tan(lat2 * D2R));
  const sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
  let lam = L, iter = 0, sinSig = 0, cosSig = 1, sig = 0, cos2A = 1, cos2SigM = 0, sinLam = 0, cosLam = 1;
  let converged = false;
  while (iter++ < 200) {
    sinLam = Math.sin(lam); cosLam = Math.cos(lam);
    sinSig = Math.hypot(cosU2 * sinLam, cosU1 * sinU2 - sinU1 * cosU2 * cosLam);
    if (sinSig === 0) return { distance_m: 0, azimuth1_deg: 0, azimuth2_deg: 0, converged: true };
    cosSig = sinU1 * sinU2 + cosU1 * cosU2 * cosLam;
    sig = Math.atan2(sinSig, cosSig);
    const sinA = cosU1 * cosU2 * sinLam / sinSig;
    cos2A = 1 - sinA * sinA;
    cos2SigM = cos2A !== 0 ? cosSig - 2 * sinU1 * sinU2 / cos2A : 0;
    const C = f / 16 * cos2A * (4 + f * (4 - 3 * cos2A));
    const prev = lam;
    // λ = L + (1−C) f sin α (σ + C sin σ (cos 2σm + C cos σ (−1 + 2 cos² 2σm)))
    lam = L + (1 - C) * f * sinA * (sig + C * sinSig * (cos2SigM + C * cosSig * (-1 + 2 * cos2SigM * cos2SigM)));
    if (Math.abs(lam - prev) < 1e-12) { converged = true; break; }
  }
  if (!converged) {
    const R = 6371008.8, p1 = lat1 * D2R, p2 = lat2 * D2R;
    const d = 2 * R * Math.asin(Math.sqrt(Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(L / 2) ** 2));
    const az = Math.atan2(Math.sin(L) * Math.cos(p2), Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(L));
    return { distance_m: d, azimuth1_deg: (az / D2R + 360) % 360, azimuth2_deg: NaN, converged: false };
  }
  const uSq = cos2A * (a * a - b * b) / (b * b);
  const A = 1 + uSq / 16384 * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
  const B = uSq / 1024 * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
  // Δσ = B sin σ (cos 2σm + B/4 (cos σ (−1 + 2 cos² 2σm) − B/6 cos 2σm (−3 + 4 sin² σ)(−3 + 4 cos² 2σm)))
  const dSig = B * sinSig * (cos2SigM + B / 4 * (cosSig * (-1 + 2 * cos2SigM ** 2)
    - B / 6 * cos2SigM * (-3 + 4 * sinSig ** 2) * (-3 + 4 * cos2SigM ** 2)));
  const s = b * A * (sig - dSig);
  const az1 = Math.atan2(cosU2 * sinLam, cosU1 * sinU2 - sinU1 * cosU2 * cosLam);
  const az2 = Math.atan2(cosU1 * sinLam, -sinU1 * cosU2 + cosU1 * sinU2 * cosLam);
  return { distance_m: s, azimuth1_deg: (az1 / D2R + 360) % 360, azimuth2_deg: (az2 / D2R + 360) % 360, converged: true };
}

// Vincenty's direct formula on WGS-84: the point [lat, lon] (degrees) at ground distance
// `distM` along initial azimuth `azDeg` from (lat1, lon1); the inverse's partner, so that
// what is drawn at a range (a bullseye's rings) reads that range under the cursor.
export function geodesicDirect(lat1, lon1, azDeg, distM) {
  const a = WGS84_A_M, b = WGS84_B_M, f = WGS84_F;
  const az = azDeg * D2R, sinAz = Math.sin(az), cosAz = Math.cos(az);
  const tanU1 = (1 - f) * Math.tan(lat1 * D2R), cosU1 = 1 / Math.hypot(1, tanU1), sinU1 = tanU1 * cosU1;
  // σ1 = atan2(tan U1, cos α1);  sin α = cos U1 sin α1
  const sig1 = Math.atan2(tanU1, cosAz), sinA = cosU1 * sinAz, cos2A = 1 - sinA * sinA;
  const uSq = cos2A * (a * a - b * b) / (b * b);
  const A = 1 + uSq / 16384 * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
  const B = uSq / 1024 * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
  let sig = distM / (b * A), sinSig = 0, cosSig = 1, cos2SigM = 0;
  for (let iter = 0; iter < 200; iter++) {
    cos2SigM = Math.cos(2 * sig1 + sig); sinSig = Math.sin(sig); cosSig = Math.cos(sig);
    // σ = s / (b A) + Δσ, Δσ as in the inverse
    const dSig = B * sinSig * (cos2SigM + B / 4 * (cosSig * (-1 + 2 * cos2SigM ** 2)
      - B / 6 * cos2SigM * (-3 + 4 * sinSig ** 2) * (-3 + 4 * cos2SigM ** 2)));
    const prev = sig;
    sig = distM / (b * A) + dSig;
    if (Math.abs(sig - prev) < 1e-12) break;
  }
  cos2SigM = Math.cos(2 * sig1 + sig); sinSig = Math.sin(sig); cosSig = Math.cos(sig);
  const x = sinU1 * sinSig - cosU1 * cosSig * cosAz;
  const lat2 = Math.atan2(sinU1 * cosSig + cosU1 * sinSig * cosAz, (1 - f) * Math.hypot(sinA, x));
  const lam = Math.atan2(sinSig * sinAz, cosU1 * cosSig - sinU1 * sinSig * cosAz);
  const C = f / 16 * cos2A * (4 + f * (4 - 3 * cos2A));
  // L = λ − (1−C) f sin α (σ + C sin σ (cos 2σm + C cos σ (−1 + 2 cos² 2σm)))
  const L = lam - (1 - C) * f * sinA * (sig + C * sinSig * (cos2SigM + C * cosSig * (-1 + 2 * cos2SigM ** 2)));
  return [lat2 / D2R, ((lon1 + L / D2R + 540) % 360) - 180];
}

// A "nice" length for a scale bar or ring spacing: 1, 2 or 5 × 10^k of `unitM`, at most `maxM`.
export function niceLength(maxM, unitM) {
  const x = maxM / unitM;
  const p = 10 ** Math.floor(Math.log10(x));
  const m = x / p >= 5 ? 5 : x / p >= 2 ? 2 : 1;
  return m * p * unitM;
}
