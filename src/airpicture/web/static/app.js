// The page: sign-in, the WebSocket picture feed, and the panels around the globe.
import { Globe } from "./globe.js";
import { IDENTITY_CSS, symbolDataUrl, trackSidc } from "./symbols.js";
import { elapsedLabel, headingDeg, utcLabel } from "./geo.js";
import {
  UNIT_SYSTEMS, altValue, fmtAlt, fmtAltSigma, fmtDuration, fmtHeading, fmtLatLonDMS, fmtRange, fmtRoundRange, fmtSpeed,
  fmtTN, fmtTimeToGo, geodesicDirect, geodesicInverse, niceLength, rangeUnitM, speedValue, toMGRS,
} from "./display.js";
import * as display from "./display.js";

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
  hello: () => hello,
  globe: () => globe,
  display,  // the page's formatting and geodesy, for the tests to check against pyproj
  settings: () => settings,
  partners: () => partnerLinks,
  alerts: () => [...alerts.values()].map((a) => ({ key: a.key, kind: a.latest.kind, over: a.over, closedBy: a.closedBy || null, acked: isAcked(a), track: a.latest.track_id })),
  hiddenThreats: () => hiddenThreats,
  measure: () => measure,
  alarm: () => alarm.sounding,
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

// ------------------------------------------------------------------ display settings
// The operator's choices, kept in this browser: units, what a data block shows.
const BLOCK_FIELDS = { tn: "Track number", alt: "Altitude", speed: "Speed", heading: "Heading", identity: "Identity / class" };
const settings = Object.assign(
  { units: "aviation", block: { tn: true, alt: true, speed: true, heading: false, identity: false } },
  JSON.parse(localStorage.getItem("airpicture.display") || "{}"));
if (!UNIT_SYSTEMS[settings.units]) settings.units = "aviation";
function saveSettings() { localStorage.setItem("airpicture.display", JSON.stringify(settings)); }

// A data block: the chosen fields, in the chosen units, altitude clamped at the surface.
function dataBlock(t) {
  const b = settings.block, u = settings.units;
  const line1 = [], line2 = [];
  if (b.tn) line1.push(fmtTN(t.id));
  if (b.identity) line1.push(`${t.identity.slice(0, 3).toUpperCase()} ${CLASS_SHORT[t.cls] || t.cls}`);
  if (b.alt) line2.push(fmtAlt(t.alt, u).replace(" ", ""));
  if (b.speed) line2.push(fmtSpeed(Math.hypot(t.ve, t.vn, t.vu), u).replace(" ", ""));
  if (b.heading) line2.push(fmtHeading(headingDeg(t.ve, t.vn)));
  return [line1.join(" "), line2.join(" ")].filter(Boolean).join("\n") || fmtTN(t.id);
}

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
  armAudio();
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

// A page opened with a session still valid had no click yet: its sound starts on the first one.
document.addEventListener("pointerdown", armAudio, { once: true });

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
    globe.onCursor = onCursor;
    globe.filter = passesFilter;
    globe.labelText = dataBlock;
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
    buildLegend(); buildLayers(); buildFilters(); buildTableHeader(); bindTimeControls(); buildTools();
    applyUnits();
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
    case "history": onHistory(msg); break;
    case "warnings": onWarnings(msg); globe.scene.requestRender(); break;
    case "clock": onClock(msg); break;
    case "acks": onAcks(msg); break;
    case "links": onLinks(msg); break;
    case "error": console.warn("server:", msg.code, msg.message); break;
  }
}

function onHello(msg) {
  hello = msg;
  // A new session (another nation, or a replay) is told its own links, if any.
  partnerLinks = null;
  $("top-partners-item").hidden = true;
  $("top-partners").replaceChildren();
  $("top-scenario").textContent = msg.scenario;
  $("top-viewer").textContent = msg.viewer;
  $("top-user").textContent = msg.user;
  $("top-mode").textContent = msg.mode === "live" ? "LIVE" : "REPLAY";
  $("banner").textContent = `EXERCISE · EXERCISE · EXERCISE — ${msg.viewer === "ALL" ? "EXERCISE CONTROL (ALL NATIONS)" : `${msg.viewer} NATIONAL PICTURE`} — ${msg.fusion.toUpperCase()} FUSION`;
  $("tc-slider").max = String(msg.end_s);
  $("tc-live").hidden = msg.mode !== "live";
  globe.setSensors(msg.sensors, msg.viewer);
  globe.setPlaces(msg.places, msg.assets);
  globe.setGeoLayers(msg.layers || []);
  buildGeoLayerToggles(msg.layers || []);
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
  updateHidden();
  if (measure.a || measure.b) updateMeasure();
  if (globe.selectedId) showDetail(globe.selectedId, true);
}

function onClock(c) {
  clock = c;
  renderPartners();
  expireAlerts();
  renderBanner();
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
// A threat whose predicted impact (or arrival) is this long past is over, even if no closing
// report reached this nation: nothing flies on after its impact (the banner never outlives it).
const IMPACT_PASSED_GRACE_S = 120;
function severity(kind) {
  if (CLOSING.has(kind)) return "closed";
  return kind === "launch" || kind === "impact_area" || kind === "asset_threat" || kind === "update" || kind === "passed_over" ? "high" : "info";
}
function isClosed(kind) { return CLOSING.has(kind); }
// When the threat arrives (scenario s): its predicted impact, or the issue time plus the
// time to go the warning carried; null when unknown.
function etaS(a) {
  if (a.impact && a.impact.time_s != null) return a.impact.time_s;
  const w = a.items.findLast ? a.items.findLast((x) => x.time_to_go_s != null) : null;
  return w ? w.time_s + w.time_to_go_s : null;
}
// Why an alert is over, or null while it is open: its latest row closes it (fell, impact,
// cancelled), it expired (threat/warning.py, active_warnings: the same rule), or its
// predicted impact is IMPACT_PASSED_GRACE_S past.
function overReason(a) {
  const w = a.latest;
  if (isClosed(w.kind)) return KIND_LABEL(w.kind);
  if (w.expires_s != null && clock.time_s >= w.expires_s) return "EXPIRED";
  const eta = etaS(a);
  if (eta != null && clock.time_s > eta + IMPACT_PASSED_GRACE_S) return "IMPACT TIME PASSED";
  return null;
}
function isOver(a) { return overReason(a) != null; }
function expireAlerts() {
  let changed = false;
  for (const a of alerts.values()) {
    const reason = overReason(a);
    const over = reason != null;
    if (over && !a.over) { globe.clearImpact(a.key); globe.clearLaunch(a.key); }
    if (over !== a.over || reason !== a.closedBy) { a.over = over; a.closedBy = reason; changed = true; }
  }
  if (changed) { renderAlerts(); renderMarks(); }
  updateAlarm();
}

// ------------------------------------------------------------------ partner nations
// The serving node's links to its partner nations as the node sees them (`links`; a node's own
// page only): up, down (silent for longer than the node's limit) or waiting (not heard yet).
// Not this page's connection to its server (SERVER). "Heard N s ago" ages with the live clock.
let partnerLinks = null;
function onLinks(msg) {
  partnerLinks = msg;
  renderPartners();
}
function heardAgoS(p) {
  if (p.last_heard_s == null) return null;
  return Math.max(0, Math.max(clock.head_s || 0, partnerLinks.time_s) - p.last_heard_s);
}
function renderPartners() {
  if (!partnerLinks) return;
  $("top-partners-item").hidden = false;
  $("top-partners").replaceChildren(...partnerLinks.partners.map((p) => {
    const chip = document.createElement("span");
    const ago = heardAgoS(p);
    chip.className = `partner partner-${p.state}`;
    chip.dataset.nation = p.nation;
    chip.dataset.state = p.state;
    chip.textContent = `${p.nation} ${p.state.toUpperCase()}${ago == null ? "" : ` ${fmtDuration(ago)}`}`;
    chip.title = `${p.nation}: ${p.state} since ${elapsedLabel(p.since_s)}; ` +
      (ago == null ? "never heard" : `last heard ${fmtDuration(ago)} ago`) +
      ` (down after ${fmtDuration(partnerLinks.down_after_s)} of silence)`;
    return chip;
  }));
}

// Acknowledgements: warning id → [{user, time_s, wall_utc}] (the server's record, shared by
// this nation's operators), and what this page acknowledged when the server records none.
const acks = new Map();
const localAcks = new Set();
function onAcks(msg) {
  acks.clear();
  for (const a of msg.items) {
    if (!acks.has(a.warning_id)) acks.set(a.warning_id, []);
    acks.get(a.warning_id).push(a);
  }
  renderAlerts(); updateAlarm();
}
// Acknowledged by this operator (acknowledgements are per operator).
function isAcked(a) {
  if (localAcks.has(a.key)) return true;
  return (acks.get(a.key) || []).some((x) => hello && x.user === hello.user);
}
function acknowledge(a) {
  localAcks.add(a.key);
  if (hello && hello.acknowledgements && socket) {
    socket.postMessage({ op: "send", text: JSON.stringify({ type: "ack", warning_id: a.key }) });
  }
  renderAlerts(); updateAlarm();
}

// The alarm: a generated two-tone (WebAudio, nothing loaded), every 1.6 s while any open alert
// is unacknowledged by this operator. The audio context starts on the sign-in click (browsers
// allow sound only after a gesture); `sounding` and `beeps` are for the tests.
const alarm = { ctx: null, timer: null, sounding: false, beeps: 0 };
function armAudio() {
  try {
    alarm.ctx = alarm.ctx || new AudioContext();
    if (alarm.ctx.state === "suspended") alarm.ctx.resume();
  } catch (err) { console.warn("no audio", err); }
}
function beep() {
  alarm.beeps++;
  const ctx = alarm.ctx;
  if (!ctx) return;
  const t0 = ctx.currentTime;
  for (const [i, f] of [[0, 880], [1, 660]]) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "square"; osc.frequency.value = f;
    gain.gain.setValueAtTime(0.0001, t0 + i * 0.22);
    gain.gain.exponentialRampToValueAtTime(0.15, t0 + i * 0.22 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.22 + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + i * 0.22); osc.stop(t0 + i * 0.22 + 0.21);
  }
}
function updateAlarm() {
  const want = [...alerts.values()].some((a) => !a.over && !isAcked(a));
  if (want === alarm.sounding) return;
  alarm.sounding = want;
  if (want) { beep(); alarm.timer = setInterval(beep, 1600); }
  else { clearInterval(alarm.timer); alarm.timer = null; }
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
  for (const a of alerts.values()) { a.closedBy = overReason(a); a.over = a.closedBy != null; }
  renderAlerts(fresh);
  renderMarks();
  updateAlarm();
}

// A warning's text in the operator's units: its distances ("1,160 km", "50 × 12 km") converted,
// and a time to go in whole minutes ("in about 0 min") left to the live countdown beside it.
function warningText(text) {
  const u = settings.units;
  let out = text.replace(/expected in about \d+ min, at/g, "expected at");
  if (u === "metric") return out;
  const conv = (km) => fmtRange(Number(km.replace(/,/g, "")) * 1000, u);
  out = out.replace(/(\d[\d,]*(?:\.\d+)?) × (\d[\d,]*(?:\.\d+)?) km/g, (_, a, b) => `${conv(a).split(" ")[0]} × ${conv(b)}`);
  return out.replace(/(\d[\d,]*(?:\.\d+)?) km\b/g, (_, a) => conv(a));
}

// The most urgent open alert: the soonest predicted arrival, then the newest.
function mostUrgent(open) {
  return [...open].sort((a, b) => {
    const ea = etaS(a), eb = etaS(b);
    if ((ea == null) !== (eb == null)) return ea == null ? 1 : -1;
    if (ea != null && ea !== eb) return ea - eb;
    return b.latest.time_s - a.latest.time_s;
  })[0];
}

function renderBanner() {
  const banner = $("threat-banner");
  const open = [...alerts.values()].filter((a) => !a.over);
  if (!open.length) { banner.hidden = true; return; }
  const a = mostUrgent(open);
  banner.hidden = false;
  banner.dataset.warning = a.key;
  $("threat-text").textContent = `⚠ MISSILE WARNING · ${KIND_LABEL(a.latest.kind)} · ${fmtTN(a.latest.track_id || a.key)}${open.length > 1 ? ` (+${open.length - 1})` : ""}`;
  const eta = etaS(a);
  $("threat-countdown").textContent = eta != null ? fmtTimeToGo(eta - clock.time_s) : "";
  const acked = isAcked(a);
  banner.classList.toggle("acked", acked);
  $("threat-ack").hidden = acked;
  $("threat-ack").onclick = (e) => { e.stopPropagation(); acknowledge(a); };
  $("threat-text").onclick = () => focusAlert(a);
  // Each open alert's countdown in the list, every clock tick.
  for (const el of document.querySelectorAll("#alerts .alert .ttg")) {
    const x = alerts.get(el.closest(".alert").dataset.warning);
    const t = x && etaS(x);
    el.textContent = x && !x.over && t != null ? fmtTimeToGo(t - clock.time_s) : "";
  }
}

function renderAlerts(fresh = new Set()) {
  const list = $("alerts");
  const items = [...alerts.values()].sort((a, b) => {
    if (a.over !== b.over) return a.over ? 1 : -1;
    return b.latest.time_s - a.latest.time_s;
  });
  const active = items.filter((a) => !a.over);
  $("alerts-count").textContent = String(active.length);
  $("alerts-panel").classList.toggle("has-active", active.length > 0);
  renderBanner();
  if (!items.length) { list.innerHTML = `<div class="empty">No warnings for this nation.</div>`; return; }
  const u = settings.units;
  list.replaceChildren(...items.map((a) => {
    const w = a.latest, sev = a.over ? "closed" : severity(w.kind);
    const div = document.createElement("div");
    div.className = `alert sev-${sev === "closed" ? "info" : sev}${sev === "closed" ? " closed" : ""}${fresh.has(a.key) ? " fresh" : ""}`;
    div.dataset.track = w.track_id || "";
    div.dataset.warning = a.key;
    div.dataset.kind = w.kind;
    div.dataset.over = a.over ? (a.closedBy || "over") : "";
    const imp = a.impact;
    const meta = [];
    if (imp && hello) meta.push(`impact ${fmtLatLonDMS(imp.lat_deg, imp.lon_deg)} at ${utcLabel(hello.epoch, imp.time_s)}, ${fmtRange(imp.semi_major_m, u)} × ${fmtRange(imp.semi_minor_m, u)} (${Math.round((imp.confidence || 0) * 100)}%)`);
    if (w.assets && w.assets.length) meta.push(`assets: ${w.assets.map((x) => typeof x === "string" ? x : x.name || JSON.stringify(x)).join(", ")}`);
    div.innerHTML = `<div class="alert-head"><span class="alert-kind"></span><span class="alert-time"></span></div>
      <div class="alert-text"></div><div class="ttg"></div><div class="alert-meta"></div><div class="alert-steps"></div><div class="ack-row"></div>`;
    div.querySelector(".alert-kind").textContent = `${KIND_LABEL(w.kind)} · ${a.key}${w.track_id ? ` · ${fmtTN(w.track_id)}` : ""}`;
    div.querySelector(".alert-time").textContent = hello ? utcLabel(hello.epoch, w.time_s) : "";
    div.querySelector(".alert-text").textContent = warningText(w.text);
    const eta = etaS(a);
    div.querySelector(".ttg").textContent = !a.over && eta != null ? fmtTimeToGo(eta - clock.time_s) : "";
    div.querySelector(".alert-meta").textContent = meta.join(" · ");
    const steps = div.querySelector(".alert-steps");
    for (const it of a.items) {
      const st = document.createElement("span");
      st.className = "done";
      st.textContent = `${KIND_LABEL(it.kind)} ${hello ? utcLabel(hello.epoch, it.time_s).slice(0, 5) : ""}`;
      st.title = warningText(it.text);
      steps.append(st);
    }
    const row = div.querySelector(".ack-row");
    if (a.over) {
      const note = document.createElement("span");
      note.className = "closed-note";
      note.textContent = `CLOSED · ${a.closedBy}`;
      row.append(note);
    } else if (!isAcked(a)) {
      const b = document.createElement("button");
      b.className = "btn ack"; b.textContent = "ACK"; b.title = "Acknowledge (stops the alarm for you)";
      b.addEventListener("click", (e) => { e.stopPropagation(); acknowledge(a); });
      row.append(b);
    }
    const who = (acks.get(a.key) || []).map((x) => `${x.user} ${hello ? utcLabel(hello.epoch, x.time_s).slice(0, 8) : ""}`);
    if (who.length) row.append(`acknowledged: ${who.join(", ")}`);
    else if (localAcks.has(a.key)) row.append(hello && hello.acknowledgements ? "acknowledged" : "acknowledged on this page (this server does not record acknowledgements)");
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
  if (filters.altMin != null || filters.altMax != null) {
    const v = altValue(t.alt, settings.units);
    if ((filters.altMin != null && v < filters.altMin) || (filters.altMax != null && v > filters.altMax)) return false;
  }
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
      globe.refilter(); globe.scene.requestRender(); tableDirty = true; renderTable(); updateHidden();
    });
    return el;
  };
  for (const id of IDENTITIES) box.append(chip(id.toUpperCase(), filters.identity, id, IDENTITY_CSS[id]));
  for (const c of CLASSES) box.append(chip(CLASS_SHORT[c], filters.cls, c));
  const band = () => {
    const num = (el) => el.value.trim() === "" ? null : Number(el.value);
    filters.altMin = num($("alt-min")); filters.altMax = num($("alt-max"));
    globe.refilter(); globe.scene.requestRender(); tableDirty = true; renderTable(); updateHidden();
  };
  $("alt-min").addEventListener("change", band);
  $("alt-max").addEventListener("change", band);
  for (const el of [$("filter-hidden"), $("hidden-notice")]) el.addEventListener("click", showAllThreats);
  $("table-search").addEventListener("input", (e) => {
    filters.text = e.target.value.trim().toLowerCase();
    globe.refilter(); tableDirty = true; renderTable(); updateHidden();
  });
}

// Filters never hide a threat silently: how many hostile tracks and missiles the filters hide
// is said over the map and under the filters; a click shows them all again.
let hiddenThreats = 0;
function isThreat(t) { return t.identity === "hostile" || t.cls === "ballistic_missile" || t.cls === "cruise_missile"; }
function updateHidden() {
  let n = 0;
  for (const t of globe.tracks.values()) if (t.visible === false && isThreat(t)) n++;
  hiddenThreats = n;
  const text = n ? `⚠ ${n} hostile track${n === 1 ? "" : "s"} hidden by filters — show` : "";
  for (const el of [$("filter-hidden"), $("hidden-notice")]) { el.hidden = !n; el.textContent = text; }
}
function showAllThreats() {
  filters.identity.add("hostile");
  for (const c of CLASSES) filters.cls.add(c);
  filters.text = ""; $("table-search").value = "";
  filters.altMin = filters.altMax = null; $("alt-min").value = ""; $("alt-max").value = "";
  for (const el of document.querySelectorAll("#filters .chip")) {
    const v = el.dataset.filter;
    el.classList.toggle("on", filters.identity.has(v) || filters.cls.has(v));
  }
  globe.refilter(); globe.scene.requestRender(); tableDirty = true; renderTable(); updateHidden();
}

const CLASS_THREAT = { ballistic_missile: 4, cruise_missile: 3, aircraft: 1, unknown: 0 };
const IDENTITY_THREAT = { hostile: 3, unknown: 2, friend: 0, neutral: 0 };
function threatRank(t) {
  return (CLASS_THREAT[t.cls] || 0) * 4 + (IDENTITY_THREAT[t.identity] || 0);
}

const SORTERS = {
  threat: threatRank, id: (t) => t.id, cls: (t) => t.cls, identity: (t) => t.identity,
  alt: (t) => Math.max(t.alt, 0), speed: (t) => Math.hypot(t.ve, t.vn, t.vu), heading: (t) => headingDeg(t.ve, t.vn),
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
  const u = settings.units;
  const html = tableRows.slice(first, last).map((t) => {
    const sp = Math.hypot(t.ve, t.vn, t.vu);
    const alt = fmtAlt(t.alt, u);
    const altCell = alt === "SFC" ? "SFC" : u === "metric" ? altValue(t.alt, u).toFixed(1) : alt.replace(/^FL/, "");
    return `<tr data-id="${esc(t.id)}" class="${t.id === globe.selectedId ? "sel" : ""}"><td class="id-${t.identity}">${esc(fmtTN(t.id))}</td><td>${CLASS_SHORT[t.cls] || esc(t.cls)}</td>` +
      `<td class="id-${t.identity}">${t.identity.slice(0, 3).toUpperCase()}</td><td class="num">${altCell}</td>` +
      `<td class="num">${Math.round(speedValue(sp, u))}</td><td class="num">${headingDeg(t.ve, t.vn).toFixed(0).padStart(3, "0")}</td><td class="num">${(t.sources || []).length}</td></tr>`;
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
  if (!t) { panel.hidden = true; globe.showHistory(null); return; }
  if (refresh && panel.hidden) return;
  panel.hidden = false;
  const u = settings.units;
  const sp = Math.hypot(t.ve, t.vn, t.vu);
  const conf = t.conf != null ? ` (${Math.round(t.conf * 100)} %)` : "";
  // The track's real start: when it first appeared in this nation's picture (the server's
  // word); a page that has not been told falls back to what it saw, and says so.
  const startS = t.start != null ? t.start : (t.hist.length ? t.hist[0][0] : t.first);
  // The whole history is the server's (asked for once shown; again after a jump, which
  // forgets every track): this page holds only what it was sent since it connected.
  if (globe.historyId === t.id && !t.serverHist && !t.historyAsked) requestHistory(t);
  const held = globe.historyOf(t);
  const started = hello ? `${utcLabel(hello.epoch, startS)}${t.start != null ? "" : " (seen here)"}` : "";
  const alert = [...alerts.values()].find((a) => a.latest.track_id === t.id);
  const quality = [];
  if (Number.isFinite(t.sigmaH)) quality.push(`position ±${fmtRange(t.sigmaH, u)}`);
  if (Number.isFinite(t.sigmaU)) quality.push(`altitude ${fmtAltSigma(t.sigmaU, u)}`);
  const age = Number.isFinite(t.age) ? t.age : (t.time != null ? clock.time_s - t.time : null);
  panel.innerHTML = `
    <div class="detail-head"><img alt=""><div><div class="detail-id"></div><div class="detail-sub"></div></div>
      <button class="btn ghost detail-close" title="Close">✕</button></div>
    <div class="kv">
      <span class="k">Class</span><span>${CLASS_LONG[t.cls] || esc(t.cls)}${conf}</span>
      <span class="k">Identity</span><span class="id-${t.identity}">${t.identity.toUpperCase()}</span>
      <span class="k">Position</span><span>${fmtLatLonDMS(t.lat, t.lon)}</span>
      <span class="k">MGRS</span><span>${toMGRS(t.lat, t.lon)}</span>
      <span class="k">Altitude</span><span data-field="alt">${fmtAlt(t.alt, u)}${Number.isFinite(t.sigmaU) ? ` ${fmtAltSigma(t.sigmaU, u)}` : ""}${t.alt < 0 ? " (estimate below the surface: shown at the surface)" : ""}</span>
      <span class="k">Speed</span><span data-field="speed">${fmtSpeed(sp, u)}${sp > 340 ? ` · M${(sp / 340).toFixed(1)}` : ""}</span>
      <span class="k">Heading</span><span>${fmtHeading(headingDeg(t.ve, t.vn))} · climb ${u === "metric" ? `${t.vu.toFixed(0)} m/s` : `${Math.round(t.vu * 196.85).toLocaleString("en-US")} ft/min`}</span>
      <span class="k">Quality</span><span>${quality.join(" · ") || "no covariance in this picture"}</span>
      <span class="k">Last update</span><span data-field="age">${age != null ? `${fmtDuration(Math.max(age, 0))} ago` : "—"}</span>
      <span class="k">Sources</span><span>${(t.sources || []).map(esc).join(", ") || "—"}</span>
      <span class="k">Started</span><span data-field="start">${started} · ${t.serverHist ? `${held.length} positions since its start` : `${t.hist.length} updates held here`}</span>
      ${alert ? `<span class="k">Warning</span><span class="id-hostile">${esc(KIND_LABEL(alert.latest.kind))}</span>` : ""}
    </div>
    <canvas width="360" height="60" title="History: altitude (line) and speed (dots)"></canvas>
    <div class="actions"><button class="btn" data-act="center">Centre</button>
      <button class="btn" data-act="history">${globe.historyId === t.id ? "Hide history" : "Show history"}</button>
      <button class="btn" data-act="measure" title="Measure from this track">Range from here</button></div>`;
  const img = panel.querySelector("img");
  img.src = symbolDataUrl(trackSidc(t.cls, t.identity), 30);
  panel.querySelector(".detail-id").textContent = fmtTN(t.id);
  panel.querySelector(".detail-sub").textContent = `${t.identity} ${CLASS_LONG[t.cls] || t.cls}`.toUpperCase();
  panel.querySelector(".detail-close").onclick = () => { globe.select(null); globe.showHistory(null); panel.hidden = true; renderTable(); };
  panel.querySelector('[data-act="center"]').onclick = () => globe.flyTo(t.lat, t.lon, 1.2e6);
  panel.querySelector('[data-act="history"]').onclick = () => {
    const show = globe.historyId !== t.id;
    if (show) requestHistory(t);
    globe.showHistory(show ? t.id : null);
    showDetail(t.id);
  };
  panel.querySelector('[data-act="measure"]').onclick = () => { setTool("measure"); measurePick({ track: t.id }); };
  if (globe.historyId === t.id) globe.showHistory(t.id);
  drawHistory(panel.querySelector("canvas"), held);
}

// Ask the server for the track's whole history in this nation's picture (`history`).
function requestHistory(t) {
  t.historyAsked = true;
  if (socket) socket.postMessage({ op: "send", text: JSON.stringify({ type: "history", track_id: t.id }) });
}

function onHistory(msg) {
  const t = globe.tracks.get(msg.track_id);
  if (!t) return;
  t.serverHist = msg.time_s.map((time, i) => [time, msg.lat_deg[i], msg.lon_deg[i], msg.alt_m[i] ?? 0, msg.speed_mps[i] ?? 0]);
  if (globe.historyId === t.id) globe.showHistory(t.id);
  if (globe.selectedId === t.id) showDetail(t.id, true);
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
  g.fillText(`alt ≤ ${fmtAlt(maxAlt, settings.units)}`, 6, 11);
  g.fillText(`spd ≤ ${fmtSpeed(maxSp, settings.units)}`, w - 100, 11);
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
    `<div class="legend-dense" id="legend-dense" hidden>Theatre view: non-hostile aircraft as dots · zoom in for symbols</div>`;
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

// ------------------------------------------------------------------ tools

// Units: one system everywhere; switching redraws the table, labels, panel, alerts and tools.
function applyUnits() {
  const u = settings.units, sys = UNIT_SYSTEMS[u];
  $("tool-units").value = u;
  $("th-alt").textContent = `Alt ${sys.alt}`;
  $("th-speed").textContent = `Spd ${sys.speed}`;
  $("alt-unit").textContent = u === "metric" ? "km" : "FL";
  for (const t of globe.tracks.values()) if (t.label) t.label.text = dataBlock(t);
  globe.relabel(); globe.scene.requestRender();
  tableDirty = true; renderTable();
  renderAlerts();
  if (globe.selectedId) showDetail(globe.selectedId);
  if (measure.a) updateMeasure();
  if (bullseye) drawBullseye();
  updateScaleBar();
}

function buildTools() {
  const sel = $("tool-units");
  for (const [k, v] of Object.entries(UNIT_SYSTEMS)) {
    const o = document.createElement("option"); o.value = k; o.textContent = v.name; sel.append(o);
  }
  sel.addEventListener("change", () => { settings.units = sel.value; saveSettings(); applyUnits(); });
  const box = $("block-fields");
  for (const [k, label] of Object.entries(BLOCK_FIELDS)) {
    const l = document.createElement("label"), cb = document.createElement("input");
    cb.type = "checkbox"; cb.checked = Boolean(settings.block[k]); cb.dataset.field = k;
    cb.addEventListener("change", () => { settings.block[k] = cb.checked; saveSettings(); applyUnits(); });
    l.append(cb, label); box.append(l);
  }
  $("tool-plan").addEventListener("click", () => {
    globe.setPlanView(!globe.planView);
    $("tool-plan").classList.toggle("on", globe.planView);
    $("tool-plan").textContent = globe.planView ? "GLOBE VIEW" : "PLAN VIEW";
    updateScaleBar();
  });
  $("tool-measure").addEventListener("click", () => setTool(tool === "measure" ? null : "measure"));
  $("tool-bullseye").addEventListener("click", () => {
    if (bullseye) { bullseye = null; drawBullseye(); setTool(null); return; }
    setTool(tool === "bullseye" ? null : "bullseye");
  });
  globe.onToolClick = (windowPos) => {
    if (!tool) return false;
    const id = globe._nearestTrack(windowPos);
    const p = globe.pickLatLon(windowPos);
    if (tool === "measure") measurePick(id ? { track: id } : p);
    else if (tool === "bullseye" && p) { bullseye = p; drawBullseye(); setTool(null); }
    return true;
  };
  globe.scene.camera.changed.addEventListener(updateScaleBar);
  globe.scene.camera.percentageChanged = 0.05;
  globe.scene.camera.moveEnd.addEventListener(updateScaleBar);
  updateScaleBar();
}

let tool = null;
function setTool(name) {
  tool = name;
  $("tool-measure").classList.toggle("on", tool === "measure");
  $("tool-bullseye").classList.toggle("on", tool === "bullseye" || Boolean(bullseye));
  $("tool-bullseye").textContent = bullseye ? "BULLSEYE ✕" : "BULLSEYE";
  const hint = $("tool-hint");
  hint.hidden = !tool;
  hint.textContent = tool === "measure" ? (measure.a && !measure.b ? "click the second point or track" : "click a point or track to measure from · Esc ends")
    : tool === "bullseye" ? "click the bullseye's centre" : "";
  if (!tool && measure.a && !measure.b) { measure = { a: null, b: null }; updateMeasure(); }
}

// Range and bearing between two ends, each a point {lat, lon} or a track {track: id} (which the
// measurement then follows as it moves): geodesic on WGS-84 (display.js, Vincenty).
let measure = { a: null, b: null, result: null };
function measurePick(end) {
  if (!end) return;
  if (!measure.a || measure.b) measure = { a: end, b: null, result: null };
  else { measure.b = end; setTool(null); }
  updateMeasure();
  setTool(tool);
}
function endPoint(end) {
  if (!end) return null;
  if (end.track == null) return end;
  const t = globe.tracks.get(end.track);
  return t ? { lat: t.lat, lon: t.lon, track: end.track } : null;
}
function updateMeasure() {
  const a = endPoint(measure.a), b = endPoint(measure.b);
  const out = $("measure-readout");
  if (!a) { globe.setMeasure(null); out.hidden = true; measure.result = null; return; }
  if (!b) { globe.setMeasure(a, null); out.hidden = false; out.textContent = `from ${a.track ? fmtTN(a.track) : fmtLatLonDMS(a.lat, a.lon)}`; return; }
  const g = geodesicInverse(a.lat, a.lon, b.lat, b.lon);
  measure.result = g;
  const text = `${fmtRange(g.distance_m, settings.units)} · ${fmtHeading(g.azimuth1_deg)}T`;
  globe.setMeasure(a, b, text);
  out.hidden = false;
  const name = (e) => e.track ? fmtTN(e.track) : toMGRS(e.lat, e.lon, 3);
  out.textContent = `${name(a)} → ${name(b)}: ${text} (back ${fmtHeading(g.azimuth2_deg + 180)}T)`;
}

// Bullseye: a reference point with range rings (6 rings, a round spacing in the unit of
// range); the cursor readout gives bearing and range from it, as "BULL 047° 123 NM".
let bullseye = null;
function drawBullseye() {
  if (!bullseye) { globe.setRings(null); setTool(tool); return; }
  const unit = rangeUnitM(settings.units);
  const step = settings.units === "metric" ? 100000 : 50 * unit;
  globe.setRings(bullseye, step, 6, (i) => fmtRoundRange(i * step, settings.units), "BULLSEYE",
    (lat, lon, r) => Array.from({ length: 121 }, (_, k) => geodesicDirect(lat, lon, (k * 3) % 360, r)));
  setTool(tool);
}

function onCursor(p) {
  if (!p) { $("cursor-dms").textContent = "—"; $("cursor-mgrs").textContent = ""; $("cursor-bull").textContent = ""; return; }
  $("cursor-dms").textContent = fmtLatLonDMS(p.lat, p.lon);
  $("cursor-mgrs").textContent = `MGRS ${toMGRS(p.lat, p.lon)}`;
  if (bullseye) {
    const g = geodesicInverse(bullseye.lat, bullseye.lon, p.lat, p.lon);
    $("cursor-bull").textContent = `BULL ${fmtHeading(g.azimuth1_deg)} ${fmtRange(g.distance_m, settings.units)}`;
  } else $("cursor-bull").textContent = "";
}

// Scale bar: a round length in the unit of range that fits in 120 px at the bottom of the view.
let scaleQueued = false;
function updateScaleBar() {
  if (scaleQueued) return;
  scaleQueued = true;
  requestAnimationFrame(() => {
    scaleQueued = false;
    const px = 120;
    const across = globe.groundMetresAcross(px, (a, b, c, d) => geodesicInverse(a, b, c, d).distance_m);
    const bar = $("scale-bar");
    if (!across) { bar.hidden = true; return; }
    const len = niceLength(across, rangeUnitM(settings.units));
    bar.hidden = false;
    bar.querySelector("i").style.width = `${Math.round(px * len / across)}px`;
    bar.querySelector("span").textContent = fmtRoundRange(len, settings.units);
  });
}

function buildGeoLayerToggles(layers) {
  const box = $("layers");
  for (const el of box.querySelectorAll("label[data-geo]")) el.remove();
  if (!layers.length) return;
  const l = document.createElement("label");
  l.dataset.geo = "1";
  const cb = document.createElement("input");
  cb.type = "checkbox"; cb.checked = true;
  cb.addEventListener("change", () => { globe.geoLayers.show = cb.checked; globe.geoLabels.show = cb.checked; globe.scene.requestRender(); });
  l.append(cb, `Map layers (${layers.map((x) => x.name).join(", ")})`);
  box.append(l);
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
    if (e.key === "Escape") {
      if (tool) { setTool(null); return; }
      if (measure.a) { measure = { a: null, b: null }; updateMeasure(); return; }
      globe.select(null); globe.showHistory(null); $("detail").hidden = true;
    }
  });
}

boot();
