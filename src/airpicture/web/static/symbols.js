// MIL-STD-2525C symbols (milsymbol, served from node_modules) for tracks and sensor sites.
import ms from "/vendor/milsymbol/index.js";

const AFFILIATION = { friend: "F", hostile: "H", neutral: "N", unknown: "U" };

// Air-track function codes (2525C, battle dimension A): a civil aircraft for a neutral
// aircraft, military fixed wing otherwise; missiles in flight by type.
function functionId(cls, identity) {
  switch (cls) {
    case "ballistic_missile": return "WMB---";
    case "cruise_missile": return "WMCM--";
    case "aircraft": return identity === "neutral" ? "CF----" : "MF----";
    default: return "------";
  }
}

export function trackSidc(cls, identity) {
  const a = AFFILIATION[identity] || "U";
  return `S${a}AP${functionId(cls, identity)}-----`;
}

export const IDENTITY_CSS = {
  friend: "#80e0ff", hostile: "#ff6b5e", neutral: "#8fe388", unknown: "#ffe66d",
};

const cache = new Map();

// {canvas, anchor: {x, y}, url} for a SIDC at a pixel size; one canvas per distinct symbol.
export function symbolImage(sidc, size = 22, extra = {}) {
  const key = `${sidc}|${size}|${JSON.stringify(extra)}`;
  let hit = cache.get(key);
  if (!hit) {
    // civilianColor off: identity, not civil status, sets the colour (neutral is green).
    const sym = new ms.Symbol(sidc, { size, civilianColor: false, outlineWidth: 3, outlineColor: "rgba(0,0,0,0.85)", ...extra });
    const canvas = sym.asCanvas(window.devicePixelRatio > 1 ? 2 : 1);
    const anchor = sym.getAnchor();
    const dims = sym.getSize();
    hit = { key, canvas, anchor, width: dims.width, height: dims.height, url: null };
    cache.set(key, hit);
  }
  return hit;
}

export function symbolDataUrl(sidc, size = 22) {
  const s = symbolImage(sidc, size);
  if (!s.url) s.url = s.canvas.toDataURL();
  return s.url;
}

// Sensor sites: friendly equipment (radar) on land, a surface combatant at sea, a satellite.
export function sensorSidc(type, nationIsOwn) {
  const a = nationIsOwn ? "F" : "F";
  if (type === "space_ir") return `S${a}PPS-----------`;
  return `S${a}GPESR----------`.slice(0, 15);
}
export function shipSidc() { return "SFSPCLDD-------"; }
