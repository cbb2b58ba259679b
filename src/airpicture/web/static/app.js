// The page: sign-in, the WebSocket picture feed, and the panels around the globe.
import { Globe } from "./globe.js";
import { IDENTITY_CSS, symbolDataUrl, trackSidc } from "./symbols.js";
import { elapsedLabel, fmtLat, fmtLon, headingDeg, utcLabel } from "./geo.js";

const $ = (id) => document.getElementById(id);
const CLASSES = ["aircraft", "cruise_missile", "ballistic_missile", "unknown"];
const CLASS_SHORT = { aircraft: "AIR", cruise_missile: "CM", ballistic_missile: "BM", unknown: "UNK" };
const CLASS_LONG = { aircraft: "Aircraft", cruise_missile: "Cruise missile", ballistic_missile: "Ballistic missile", unknown: "Unknown" };
const IDENTITIES = ["hostile", "unknown", "friend", "neutral"];
const ROW_PX = 18;         // a track table row's height (style.css): the table draws only the rows in view
const TABLE_OVERSCAN = 8;  // ... and this many above and below
const PLAY_ICON = '<svg viewBox="0 0 20 20"><path d="M5 3v14l12-7z"/></svg>';
const PAUSE_ICON = '<svg viewBox="0 0 20 20"><path d="M4 3h4v14H4zM12 3h4v14h-4z"/></svg>';

// Exposed for the browser tests and the benchmark: counters only, no credentials.
const stats = { fps: 0, frames: 0, latencies: [], lastSeq: 0, lastTime: null, trackCount: 0, pending: [], timings: [] };
// Milliseconds of the main thread per kind of work (decode, apply, render, table), newest last.
function timing(kind, ms) {
  stats.timings.push([kind, ms]);
  if (stats.timings.length > 4000) stats.timings.splice(0, 2000);
}
window.__cop = {
  stats, ready: false,
  // What is drawn, for tests: the session's own data only (the page holds nothing else).
  snapshot: () => globe ? [...globe.tracks.values()].map((t) => ({ id: t.id, lat: t.lat, lon: t.lon, alt: t.alt, cls: t.cls, identity: t.identity, sources: t.sources })) : [],
  sensors: () => hello ? hello.sensors.map((s) => s.id) : [],
  viewer: () => hello && hello.viewer,
  globe: () => globe,
  // For the benchmark: keep the camera turning, so that every display frame is rendered.
  spin: (on) => {
    window.__copSpin = on;
    const step = () => { if (!window.__copSpin) return; globe.scene.camera.rotate(globe.constructor.Z_AXIS, 0.0006); globe.scene.requestRender(); requestAnimationFrame(step); };
    if (on) requestAnimationFrame(step);
  },
};

let globe = null;
let socket = null;
let hello = null;
let clock = { time_s: 0, speed: 1, paused: false, following_live: false, head_s: 0, end_s: 0 };
const alerts = new Map();   // alert key (track or warning id) → {items: [...], latest}
let sort = { key: "threat", asc: false };
const filters = { cls: new Set(CLASSES), identity: new Set(IDENTITIES), text: "" };
let tableDirty = true;
let reconnectDelay = 500;

// ------------------------------------------------------------------ sign-in

async function boot() {
  const r = await fetch("/api/session", { credentials: "same-origin" });
  if (r.ok) start(await r.json());
  else showSignIn();
}

function showSignIn(message = "") {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("signin-password").value = "";
  $("signin-user").focus();
}

$("signin-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const button = $("signin-submit");
  button.disabled = true;
  $("signin-error").textContent = "";
  try {
    const r = await fetch("/api/login", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: $("signin-user").value.trim(), password: $("signin-password").value }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) { $("signin-error").textContent = body.error || `sign-in failed (${r.status})`; return; }
    start(body);
  } finally { button.disabled = false; }
});

$("signout").addEventListener("click", async () => {
  await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
  if (socket) { socket.postMessage({ op: "close" }); socket.terminate(); socket = null; }
  location.reload();
});

// ------------------------------------------------------------------ app start

function start(session) {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("top-user").textContent = session.user;
  $("top-viewer").textContent = session.viewer;
  if (!globe) {
    globe = new Globe($("globe"));
    globe.home();
    globe.loadOutlines("/vendor/world-atlas/countries-50m.json", "/vendor/world-atlas/countries-110m.json").catch((err) => console.error("outlines", err));
    globe.onSelect = (id) => showDetail(id);
    globe.onCursor = (p) => { $("cursor-readout").textContent = p ? `${fmtLat(p.lat)}  ${fmtLon(p.lon)}` : ""; };
    globe.filter = passesFilter;
    let frames = 0, last = performance.now();
    globe.scene.preRender.addEventListener(() => { stats.renderStart = performance.now(); });
    globe.scene.postRender.addEventListener(() => {
      stats.renderMs = performance.now() - stats.renderStart;
      // A render that shows an update also builds its primitives (leaders, symbols, dots, trails).
      timing(stats.pending.length ? "render_update" : "render", stats.renderMs);
      frames++;
      const now = performance.now();
      pullFrames();
      if (stats.pending.length) {
        const shown = Date.now();
        for (const f of stats.pending) stats.latencies.push({ seq: f.seq, ms: shown - f.produced_ms, n: f.n });
        if (stats.latencies.length > 2000) stats.latencies.splice(0, stats.latencies.length - 2000);
        stats.pending = [];
      }
      if (now - last >= 1000) {
        stats.fps = frames * 1000 / (now - last);
        frames = 0; last = now;
        const lat = stats.latencies.length ? stats.latencies[stats.latencies.length - 1].ms : null;
        $("perf").textContent = `${stats.fps.toFixed(0)} fps` + (lat != null ? ` · update ${lat.toFixed(0)} ms` : "");
      }
    });
    buildLegend(); buildLayers(); buildFilters(); buildTableHeader(); bindTimeControls();
    // At most twice a second: sorting 10,000 tracks on every update is wasted work.
    setInterval(() => { if (tableDirty) renderTable(); }, 500);
    let scrollQueued = false;
    $("track-table").closest(".table-wrap").addEventListener("scroll", () => {
      if (scrollQueued) return;
      scrollQueued = true;
      requestAnimationFrame(() => { scrollQueued = false; renderTableWindow(); });
    });
  }
  connect();
}

// The socket lives in a worker (feed.js): it is read as fast as the server writes, whatever
// the main thread is doing, and picture frames are pulled from it once per drawn frame.
function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  if (!socket) {
    socket = new Worker("/static/feed.js", { type: "module" });
    socket.onmessage = (ev) => onFeed(ev.data);
  }
  socket.postMessage({ op: "connect", url: `${proto}//${location.host}/ws` });
  pullFrames();
}

let pulling = false;
function pullFrames() {
  if (pulling || !socket) return;
  pulling = true;
  socket.postMessage({ op: "pull" });
}

function onFeed(msg) {
  if (msg.type === "_frames") {
    pulling = false;
    timing("decode", msg.decodeMs);
    // The next pull comes after the next render (postRender): while the page draws, frames
    // wait in the worker (merged when many), not in socket buffers.
    for (const f of msg.frames) onFrame(f);
    return;
  }
  if (msg.type === "_open") { reconnectDelay = 500; setLink(true); return; }
  if (msg.type === "_close") {
    setLink(false);
    const code = msg.code;
    if (code === 4001 || code === 4003 || code === 1008 && !hello) { showSignIn("Your session has ended; sign in again."); return; }
    setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 10000);
    return;
  }
  handle(msg);
}

function setLink(up) {
  $("top-link").textContent = up ? "CONNECTED" : "RECONNECTING";
  $("top-link").className = `v ${up ? "link-up" : "link-down"}`;
}

function send(op, value) {
  if (socket) socket.postMessage({ op: "send", text: JSON.stringify(value == null ? { type: "control", op } : { type: "control", op, value }) });
}

function handle(msg) {
  switch (msg.type) {
    case "hello": onHello(msg); break;
    case "frame": onFrame(msg); break;
    case "warnings": onWarnings(msg); globe.scene.requestRender(); break;
    case "clock": onClock(msg); break;
    case "error": console.warn("server:", msg.code, msg.message); break;
  }
}

function onHello(msg) {
  hello = msg;
  $("top-scenario").textContent = msg.scenario;
  $("top-viewer").textContent = msg.viewer;
  $("top-user").textContent = msg.user;
  $("top-mode").textContent = msg.mode === "live" ? "LIVE" : "REPLAY";
  $("banner").textContent = `EXERCISE · EXERCISE · EXERCISE — ${msg.viewer === "ALL" ? "EXERCISE CONTROL (ALL NATIONS)" : `${msg.viewer} NATIONAL PICTURE`} — ${msg.fusion.toUpperCase()} FUSION`;
  $("tc-slider").max = String(msg.end_s);
  $("tc-live").hidden = msg.mode !== "live";
  globe.setSensors(msg.sensors, msg.viewer);
  globe.setPlaces(msg.places, msg.assets);
  document.title = `${msg.viewer} · ${msg.scenario} · airpicture COP`;
}

function onFrame(f) {
  const t0 = performance.now();
  globe.applyFrame(f);
  stats.applyMs = performance.now() - t0;
  timing("apply", stats.applyMs);
  stats.frames++; stats.lastSeq = f.seq; stats.lastTime = f.time_s; stats.trackCount = globe.tracks.size;
  if (!f.catchup) stats.pending.push({ seq: f.seq, produced_ms: f.produced_ms, n: f.ids.length });
  window.__cop.ready = true;
  tableDirty = true;
  updateCounts();
  if (globe.selectedId) showDetail(globe.selectedId, true);
}

function onClock(c) {
  clock = c;
  expireAlerts();
  $("top-utc").textContent = hello ? utcLabel(hello.epoch, c.time_s) : "--:--:--Z";
  $("tc-elapsed").textContent = elapsedLabel(c.time_s);
  const state = c.following_live ? "LIVE" : c.paused ? "PAUSED" : `PLAYING ${c.speed}×`;
  $("tc-state").textContent = state;
  $("tc-play").innerHTML = c.paused ? PLAY_ICON : PAUSE_ICON;
  $("tc-play").dataset.state = c.paused ? "paused" : "playing";
  $("tc-live").classList.toggle("on", c.following_live);
  if (document.activeElement !== $("tc-slider")) $("tc-slider").value = String(c.time_s);
  $("tc-head").style.width = `${Math.min(100, 100 * c.head_s / Math.max(c.end_s, 1))}%`;
  const sel = $("tc-speed");
  if (document.activeElement !== sel && [...sel.options].some((o) => Number(o.value) === c.speed)) sel.value = String(c.speed);
}

// ------------------------------------------------------------------ alerts

// The warning life cycle (docs/threat.md): launch → impact_area → update… → passed_over →
// impact | fell_at_sea, or cancelled; asset_threat for a defended asset in reach.
const KIND_NAMES = {
  launch: "LAUNCH", impact_area: "IMPACT AREA", update: "UPDATE", passed_over: "PASSED OVER",
  asset_threat: "ASSET THREAT", impact: "IMPACT", fell_at_sea: "FELL AT SEA", cancelled: "CANCELLED",
};
const CLOSING = new Set(["impact", "fell_at_sea", "cancelled"]);
const KIND_LABEL = (k) => KIND_NAMES[k] || k.replace(/_/g, " ").toUpperCase();
function severity(kind) {
  if (CLOSING.has(kind)) return "closed";
  return kind === "launch" || kind === "impact_area" || kind === "asset_threat" || kind === "update" || kind === "passed_over" ? "high" : "info";
}
function isClosed(kind) { return CLOSING.has(kind); }
// An alert is over when its latest row closes it or has expired (threat/warning.py,
// active_warnings: the same rule): a partner's banner never outlives its threat.
function isOver(w) { return isClosed(w.kind) || (w.expires_s != null && clock.time_s >= w.expires_s); }
function expireAlerts() {
  let changed = false;
  for (const a of alerts.values()) {
    const over = isOver(a.latest);
    if (over && !a.over) { globe.clearImpact(a.key); globe.clearLaunch(a.key); }
    if (over !== a.over) { a.over = over; changed = true; }
  }
  if (changed) { renderAlerts(); renderMarks(); }
}

function onWarnings(msg) {
  if (msg.reset) { alerts.clear(); globe.clearImpacts(); globe.clearLaunches(); }
  const fresh = new Set();
  for (const w of msg.items) {
    const key = w.warning_id;
    let a = alerts.get(key);
    if (!a) { a = { key, items: [] }; alerts.set(key, a); }
    a.items.push(w);
    a.latest = w;
    if (!msg.reset) fresh.add(key);
    // The path (when sent) belongs to the prediction it came with: the server's, drawn as is.
    if (w.predicted_impact) { a.impact = w.predicted_impact; a.path = w.predicted_path || null; }
    if (w.launch) globe.setLaunch(key, w.launch);
    if (isClosed(w.kind)) { globe.clearImpact(key); globe.clearLaunch(key); }
    else if (a.impact && hello) {
      globe.setImpact(key, a.impact, `IMPACT ${utcLabel(hello.epoch, a.impact.time_s)} · ${Math.round((a.impact.confidence || 0.95) * 100)}%`, a.path);
    }
  }
  renderAlerts(fresh);
  renderMarks();
}

function renderAlerts(fresh = new Set()) {
  const list = $("alerts");
  const items = [...alerts.values()].sort((a, b) => {
    const ca = isOver(a.latest), cb = isOver(b.latest);
    if (ca !== cb) return ca ? 1 : -1;
    return b.latest.time_s - a.latest.time_s;
  });
  for (const a of items) a.over = isOver(a.latest);
  const active = items.filter((a) => !a.over);
  $("alerts-count").textContent = String(active.length);
  $("alerts-panel").classList.toggle("has-active", active.length > 0);
  const banner = $("threat-banner");
  if (active.length) {
    const a = active[0];
    banner.hidden = false;
    banner.textContent = `⚠ MISSILE WARNING · ${KIND_LABEL(a.latest.kind)} · ${a.key}`;
    banner.onclick = () => focusAlert(a);
  } else banner.hidden = true;
  if (!items.length) { list.innerHTML = `<div class="empty">No warnings for this nation.</div>`; return; }
  list.replaceChildren(...items.map((a) => {
    const w = a.latest, sev = a.over ? "closed" : severity(w.kind);
    const div = document.createElement("div");
    div.className = `alert sev-${sev === "closed" ? "info" : sev}${sev === "closed" ? " closed" : ""}${fresh.has(a.key) ? " fresh" : ""}`;
    div.dataset.track = w.track_id || "";
    div.dataset.warning = a.key;
    div.dataset.kind = w.kind;
    const imp = a.impact;
    const meta = [];
    if (imp && hello) meta.push(`impact ${fmtLat(imp.lat_deg)} ${fmtLon(imp.lon_deg)} at ${utcLabel(hello.epoch, imp.time_s)}, ${(imp.semi_major_m / 1000).toFixed(0)}×${(imp.semi_minor_m / 1000).toFixed(0)} km (${Math.round((imp.confidence || 0) * 100)}%)`);
    if (w.assets && w.assets.length) meta.push(`assets: ${w.assets.map((x) => typeof x === "string" ? x : x.name || JSON.stringify(x)).join(", ")}`);
    div.innerHTML = `<div class="alert-head"><span class="alert-kind"></span><span class="alert-time"></span></div>
      <div class="alert-text"></div><div class="alert-meta"></div><div class="alert-steps"></div>`;
    div.querySelector(".alert-kind").textContent = `${KIND_LABEL(w.kind)} · ${a.key}${w.track_id && w.track_id !== a.key ? ` · ${w.track_id}` : ""}`;
    div.querySelector(".alert-time").textContent = hello ? utcLabel(hello.epoch, w.time_s) : "";
    div.querySelector(".alert-text").textContent = w.text;
    div.querySelector(".alert-meta").textContent = meta.join(" · ");
    const steps = div.querySelector(".alert-steps");
    for (const it of a.items) {
      const s = document.createElement("span");
      s.className = "done";
      s.textContent = `${KIND_LABEL(it.kind)} ${hello ? utcLabel(hello.epoch, it.time_s).slice(0, 5) : ""}`;
      s.title = it.text;
      steps.append(s);
    }
    div.addEventListener("click", () => focusAlert(a));
    return div;
  }));
}

function focusAlert(a) {
  const t = a.latest.track_id && globe.tracks.get(a.latest.track_id);
  const launch = a.items.find((w) => w.launch);
  if (a.impact) globe.flyTo(a.impact.lat_deg, a.impact.lon_deg, 3.0e6);
  else if (launch) globe.flyTo(launch.launch.lat_deg, launch.launch.lon_deg, 2.5e6);
  else if (t) globe.flyTo(t.lat, t.lon, 2.5e6);
  if (t) { globe.select(t.id); showDetail(t.id); }
}

function renderMarks() {
  const marks = $("tc-marks");
  marks.replaceChildren();
  if (!hello) return;
  for (const a of alerts.values()) {
    const i = document.createElement("i");
    i.style.left = `${100 * a.items[0].time_s / Math.max(hello.end_s, 1)}%`;
    i.title = `${KIND_LABEL(a.items[0].kind)} ${a.key}`;
    marks.append(i);
  }
}

// ------------------------------------------------------------------ table and filters

function passesFilter(t) {
  if (!filters.cls.has(t.cls) || !filters.identity.has(t.identity)) return false;
  if (filters.text) {
    const q = filters.text;
    if (!t.id.toLowerCase().includes(q) && !(t.sources || []).some((s) => s.toLowerCase().includes(q))) return false;
  }
  return true;
}

function buildFilters() {
  const box = $("filters");
  const chip = (label, set, value, color) => {
    const el = document.createElement("span");
    el.className = "chip on";
    el.dataset.filter = value;
    el.innerHTML = color ? `<i class="dot" style="background:${color}"></i>` : "";
    el.append(label);
    el.addEventListener("click", () => {
      if (set.has(value)) set.delete(value); else set.add(value);
      el.classList.toggle("on", set.has(value));
      globe.refilter(); globe.scene.requestRender(); tableDirty = true; renderTable();
    });
    return el;
  };
  for (const id of IDENTITIES) box.append(chip(id.toUpperCase(), filters.identity, id, IDENTITY_CSS[id]));
  for (const c of CLASSES) box.append(chip(CLASS_SHORT[c], filters.cls, c));
  $("table-search").addEventListener("input", (e) => {
    filters.text = e.target.value.trim().toLowerCase();
    globe.refilter(); tableDirty = true; renderTable();
  });
}

const CLASS_THREAT = { ballistic_missile: 4, cruise_missile: 3, aircraft: 1, unknown: 0 };
const IDENTITY_THREAT = { hostile: 3, unknown: 2, friend: 0, neutral: 0 };
function threatRank(t) {
  return (CLASS_THREAT[t.cls] || 0) * 4 + (IDENTITY_THREAT[t.identity] || 0);
}

const SORTERS = {
  threat: threatRank, id: (t) => t.id, cls: (t) => t.cls, identity: (t) => t.identity,
  alt: (t) => t.alt, speed: (t) => Math.hypot(t.ve, t.vn, t.vu), heading: (t) => headingDeg(t.ve, t.vn),
  nsrc: (t) => (t.sources || []).length,
};

function buildTableHeader() {
  for (const th of document.querySelectorAll("#track-table th")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      sort = sort.key === key ? { key, asc: !sort.asc } : { key, asc: key === "id" || key === "cls" || key === "identity" };
      tableDirty = true; renderTable();
    });
  }
  $("track-table").querySelector("tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (!tr || !tr.dataset.id) return;
    globe.select(tr.dataset.id); showDetail(tr.dataset.id);
    const t = globe.tracks.get(tr.dataset.id);
    if (t) globe.flyTo(t.lat, t.lon, t.cls === "ballistic_missile" ? 2.5e6 : 1.2e6);
  });
}

function renderTable() {
  const t0 = performance.now();
  try { renderTableRows(); } finally { timing("table", performance.now() - t0); }
}

let tableRows = [];  // the filtered tracks in table order (sorted at most twice a second)

function renderTableRows() {
  tableDirty = false;
  if (!globe) return;
  const f = SORTERS[sort.key];
  const keyed = [];
  for (const t of globe.tracks.values()) if (t.visible !== false && t.lat != null) keyed.push([f(t), t]);
  const dir = sort.asc ? 1 : -1;
  keyed.sort((a, b) => {
    const c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1].id < b[1].id ? -1 : 1;
    return dir * c;
  });
  tableRows = keyed.map((k) => k[1]);
  $("table-count").textContent = `${tableRows.length}${tableRows.length !== globe.tracks.size ? ` / ${globe.tracks.size}` : ""}`;
  for (const th of document.querySelectorAll("#track-table th")) {
    th.classList.toggle("sorted", th.dataset.key === sort.key);
    th.classList.toggle("asc", th.dataset.key === sort.key && sort.asc);
  }
  renderTableWindow();
}

// Only the rows in view (and a few around them) are in the DOM; spacers keep the scroll height.
function renderTableWindow() {
  const wrap = $("track-table").closest(".table-wrap");
  const first = Math.max(0, Math.floor(wrap.scrollTop / ROW_PX) - TABLE_OVERSCAN);
  const last = Math.min(tableRows.length, Math.ceil((wrap.scrollTop + wrap.clientHeight) / ROW_PX) + TABLE_OVERSCAN);
  const html = tableRows.slice(first, last).map((t) => {
    const sp = Math.hypot(t.ve, t.vn, t.vu);
    return `<tr data-id="${esc(t.id)}" class="${t.id === globe.selectedId ? "sel" : ""}"><td class="id-${t.identity}">${esc(t.id)}</td><td>${CLASS_SHORT[t.cls] || esc(t.cls)}</td>` +
      `<td class="id-${t.identity}">${t.identity.slice(0, 3).toUpperCase()}</td><td class="num">${(t.alt / 1000).toFixed(1)}</td>` +
      `<td class="num">${sp.toFixed(0)}</td><td class="num">${headingDeg(t.ve, t.vn).toFixed(0).padStart(3, "0")}</td><td class="num">${(t.sources || []).length}</td></tr>`;
  }).join("");
  const spacer = (rows) => rows > 0 ? `<tr class="spacer" style="height:${rows * ROW_PX}px"><td colspan="7"></td></tr>` : "";
  $("track-table").querySelector("tbody").innerHTML = spacer(first) + html + spacer(tableRows.length - last);
}

function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }

function updateCounts() {
  const n = { hostile: 0, unknown: 0, friend: 0, neutral: 0 };
  for (const t of globe.tracks.values()) n[t.identity] = (n[t.identity] || 0) + 1;
  $("top-tracks").textContent = String(globe.tracks.size);
  $("top-counts").innerHTML = IDENTITIES.map((k) => `<span title="${k}"><i class="dot" style="background:${IDENTITY_CSS[k]}"></i>${n[k] || 0}</span>`).join("");
}

// ------------------------------------------------------------------ detail panel

function showDetail(id, refresh = false) {
  const panel = $("detail");
  const t = id && globe.tracks.get(id);
  if (!t) { panel.hidden = true; return; }
  if (refresh && panel.hidden) return;
  panel.hidden = false;
  const sp = Math.hypot(t.ve, t.vn, t.vu);
  const conf = t.conf != null ? ` (${Math.round(t.conf * 100)} %)` : "";
  const firstSeen = hello ? utcLabel(hello.epoch, t.hist.length ? t.hist[0][0] : t.first) : "";
  const alert = [...alerts.values()].find((a) => a.latest.track_id === t.id);
  panel.innerHTML = `
    <div class="detail-head"><img alt=""><div><div class="detail-id"></div><div class="detail-sub"></div></div>
      <button class="btn ghost detail-close" title="Close">✕</button></div>
    <div class="kv">
      <span class="k">Class</span><span>${CLASS_LONG[t.cls] || esc(t.cls)}${conf}</span>
      <span class="k">Identity</span><span class="id-${t.identity}">${t.identity.toUpperCase()}</span>
      <span class="k">Position</span><span>${fmtLat(t.lat)} ${fmtLon(t.lon)}</span>
      <span class="k">Altitude</span><span>${t.alt >= 30000 ? `${(t.alt / 1000).toFixed(1)} km` : `${Math.round(t.alt).toLocaleString()} m · FL${String(Math.max(0, Math.round(t.alt / 30.48))).padStart(3, "0")}`}</span>
      <span class="k">Speed</span><span>${sp.toFixed(0)} m/s · ${(sp * 1.943844).toFixed(0)} kt${sp > 340 ? ` · M${(sp / 340).toFixed(1)}` : ""}</span>
      <span class="k">Heading</span><span>${headingDeg(t.ve, t.vn).toFixed(0).padStart(3, "0")}° · climb ${t.vu.toFixed(0)} m/s</span>
      <span class="k">Sources</span><span>${(t.sources || []).map(esc).join(", ") || "—"}</span>
      <span class="k">First held</span><span>${firstSeen} · ${t.hist.length} updates</span>
      ${alert ? `<span class="k">Warning</span><span class="id-hostile">${esc(KIND_LABEL(alert.latest.kind))}</span>` : ""}
    </div>
    <canvas width="360" height="60" title="History: altitude (line) and speed (dots)"></canvas>
    <div class="actions"><button class="btn" data-act="center">Centre</button></div>`;
  const img = panel.querySelector("img");
  img.src = symbolDataUrl(trackSidc(t.cls, t.identity), 30);
  panel.querySelector(".detail-id").textContent = t.id;
  panel.querySelector(".detail-sub").textContent = `${t.identity} ${CLASS_LONG[t.cls] || t.cls}`.toUpperCase();
  panel.querySelector(".detail-close").onclick = () => { globe.select(null); panel.hidden = true; renderTable(); };
  panel.querySelector('[data-act="center"]').onclick = () => globe.flyTo(t.lat, t.lon, 1.2e6);
  drawHistory(panel.querySelector("canvas"), t.hist);
}

function drawHistory(canvas, hist) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  if (hist.length < 2) return;
  const t0 = hist[0][0], t1 = hist[hist.length - 1][0];
  const maxAlt = Math.max(...hist.map((p) => p[3]), 1), maxSp = Math.max(...hist.map((p) => p[4]), 1);
  const x = (t) => 4 + (w - 8) * (t - t0) / Math.max(t1 - t0, 1);
  g.strokeStyle = "#35c4e8"; g.lineWidth = 1.5; g.beginPath();
  hist.forEach((p, i) => { const y = h - 4 - (h - 8) * p[3] / maxAlt; i ? g.lineTo(x(p[0]), y) : g.moveTo(x(p[0]), y); });
  g.stroke();
  g.fillStyle = "#ffb020";
  for (const p of hist) g.fillRect(x(p[0]) - 1, h - 4 - (h - 8) * p[4] / maxSp - 1, 2, 2);
  g.fillStyle = "#7a8ea3"; g.font = "9px DejaVu Sans Mono, monospace";
  g.fillText(`alt ≤ ${(maxAlt / 1000).toFixed(1)} km`, 6, 11);
  g.fillText(`spd ≤ ${maxSp.toFixed(0)} m/s`, w - 100, 11);
}

// ------------------------------------------------------------------ legend, layers, time

function buildLegend() {
  const rows = [
    ["hostile", "ballistic_missile", "Hostile ballistic missile"], ["hostile", "cruise_missile", "Hostile cruise missile"],
    ["hostile", "aircraft", "Hostile aircraft"], ["unknown", "unknown", "Unknown air track"],
    ["friend", "aircraft", "Friendly military aircraft"], ["neutral", "aircraft", "Neutral civil aircraft"],
  ];
  $("legend").innerHTML = `<div class="legend-title">SYMBOLOGY · MIL-STD-2525C</div>` +
    rows.map(([i, c, label]) => `<div class="legend-row"><img alt="" src="${symbolDataUrl(trackSidc(c, i), 18)}"><span>${label}</span></div>`).join("") +
    `<div class="legend-dense" id="legend-dense" hidden>Dense picture: non-hostile aircraft as dots · zoom in for symbols</div>`;
  globe.onDense = (dense) => { $("legend-dense").hidden = !dense; };
}

function buildLayers() {
  const names = { trails: "History trails", leaders: "Velocity leaders", labels: "Labels", ballistic: "Ballistic trajectories", sensors: "Sensor sites", coverage: "Coverage & assets" };
  const box = $("layers");
  box.innerHTML = `<div class="legend-title">LAYERS</div>`;
  for (const [k, label] of Object.entries(names)) {
    const l = document.createElement("label");
    const cb = document.createElement("input");
    cb.type = "checkbox"; cb.checked = globe.layers[k]; cb.dataset.layer = k;
    cb.addEventListener("change", () => { globe.layers[k] = cb.checked; globe.applyLayers(); });
    l.append(cb, label);
    box.append(l);
  }
}

function bindTimeControls() {
  $("tc-play").addEventListener("click", () => send(clock.paused ? "play" : "pause"));
  $("tc-back").addEventListener("click", () => send("seek", Math.max(0, clock.time_s - 60)));
  $("tc-fwd").addEventListener("click", () => send("seek", Math.min(clock.head_s, clock.time_s + 60)));
  $("tc-speed").addEventListener("change", (e) => send("speed", Number(e.target.value)));
  $("tc-live").addEventListener("click", () => send("live"));
  $("tc-slider").addEventListener("change", (e) => send("seek", Number(e.target.value)));
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.code === "Space") { e.preventDefault(); send(clock.paused ? "play" : "pause"); }
    if (e.key === "Escape") { globe.select(null); $("detail").hidden = true; }
  });
}

boot();
