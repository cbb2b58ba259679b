// The 3D globe: offline Natural Earth imagery, country outlines, tracks (point sprites, one
// primitive per symbol: no Entity, no billboard per track), history trails, velocity leaders, ballistic
// trajectories, impact ellipses, sensor sites and coverage.
import "./cesium-base.js";
import * as Cesium from "/vendor/cesium/index.js";
import * as topojson from "/vendor/topojson-client/index.js";
import { IDENTITY_CSS, symbolImage, trackSidc } from "./symbols.js";
import { coverageOutline, ellipseOutline } from "./geo.js";

const C = Cesium;
const TRAIL_SLOTS = 12;          // history dots: this many past positions, ...
// ... at least this far apart in time. A dot a second (a 1 s picture) is 200 m behind an
// aircraft: the 12 would sit under its symbol at any zoom from which a picture is seen.
const TRAIL_STEP_S = 5;
const LEADER_S = 60;             // velocity leader: where the track will be in one minute
const HISTORY_KEEP = 400;        // positions kept per track for the detail panel and 3D trails
const LABEL_ALL_BELOW = 250;     // label every track when there are fewer than this
const LABEL_NEAREST = 80;        // ... else the tracks nearest the camera, when it is this close:
const LABEL_CAMERA_M = 2.5e6;
// A dense picture seen from afar: friendly, neutral and unknown aircraft are drawn as dots in
// their identity colour, hostile tracks, missiles and the selected track as symbols. 10,000
// symbols cost ~0.4 s a frame in software WebGL; a dot a twentieth of the pixels.
const DENSE_TRACKS = 2000;
const DENSE_CAMERA_M = 1.5e6;
// At theatre zoom (the camera this high or higher), whatever the number of tracks, the same
// declutter: neutral, friendly and unknown aircraft as dots, hostiles and missiles as full-size
// symbols drawn on top of them, sensor sites and their names on top of everything.
const THEATRE_CAMERA_M = 2.5e6;
// While the camera moves, a software renderer draws at this fraction of the resolution, without
// history trails, with 1:110m outlines and coarser globe tiles; all come back when it stops (the
// globe alone costs ~0.15 s a frame at full resolution in SwiftShader: it is fill-bound).
const MOVING_RESOLUTION = 0.5;
const MOVING_TILE_ERROR_PX = 8;  // globe.maximumScreenSpaceError in motion (default 2): ~15 % less
const NATION_CSS = { USA: "#5aa9ff", JPN: "#ff8fb1", AUS: "#ffc15a" };

const identityColor = {};
for (const [k, v] of Object.entries(IDENTITY_CSS)) identityColor[k] = C.Color.fromCssColorString(v);

export class Globe {
  static Z_AXIS = C.Cartesian3.UNIT_Z;
  static C = C;

  constructor(container) {
    C.Ion.defaultAccessToken = "";  // nothing from Cesium ion: no token, no requests
    const imagery = C.ImageryLayer.fromProviderAsync(
      C.TileMapServiceImageryProvider.fromUrl(C.buildModuleUrl("Assets/Textures/NaturalEarthII")));
    // Credits go to a box that is never shown: no Cesium ion logo on an offline display (the
    // page names its imagery and libraries itself, #attribution).
    this.creditBox = document.createElement("div");
    this.widget = new C.CesiumWidget(container, {
      creditContainer: this.creditBox,
      mapMode2D: C.MapMode2D.INFINITE_SCROLL,
      baseLayer: imagery,
      terrainProvider: new C.EllipsoidTerrainProvider(),
      skyBox: false,
      skyAtmosphere: new C.SkyAtmosphere(),
      shouldAnimate: false,
      msaaSamples: 1,  // FXAA instead: multisampling is costly without a GPU
      useBrowserRecommendedResolution: true,
    });
    const w = this.widget, scene = w.scene;
    this.scene = scene;
    scene.backgroundColor = C.Color.fromCssColorString("#03070b");
    scene.globe.baseColor = C.Color.fromCssColorString("#0b1a28");
    scene.globe.enableLighting = false;
    scene.globe.showGroundAtmosphere = false;
    scene.fog.enabled = false;
    // A software WebGL renderer (SwiftShader, llvmpipe: no GPU) spends ~0.4 s a frame on FXAA
    // and ~1 s on the sky atmosphere's 65,000-vertex dome; there, the picture gets the time.
    this.software = isSoftwareRenderer(scene.context._gl);
    scene.postProcessStages.fxaa.enabled = !this.software;
    scene.skyAtmosphere.show = !this.software;
    // Subdued imagery: the picture, not the map, carries the colour.
    imagery.brightness = 0.55; imagery.contrast = 1.15; imagery.saturation = 0.35; imagery.gamma = 1.1;
    scene.screenSpaceCameraController.minimumZoomDistance = 2000;
    // Render when something changed (a picture update, the camera, a tile), not 60 times a
    // second for nothing: the CPU and GPU stay free for the 10,000-track updates.
    scene.requestRenderMode = true;
    scene.maximumRenderTimeChange = Infinity;

    this.outlines = scene.primitives.add(new C.PrimitiveCollection());
    // GeoJSON layers of the run (airspace, ADIZ, exercise areas): lines under everything else.
    this.geoLayers = scene.primitives.add(new C.PrimitiveCollection());
    this.geoLabels = scene.primitives.add(new C.LabelCollection({ scene }));
    this.coverage = scene.primitives.add(new C.PolylineCollection());
    this.placeLayer = scene.primitives.add(new C.LabelCollection({ scene }));
    // History trails: one GL_POINTS primitive per trail position (a ring of TRAIL_SLOTS), built
    // once from the frame it samples. A PointPrimitiveCollection's vertex shader (scale, translucency,
    // outline and depth by distance, per point) made 120,000 trail dots cost ~0.17 s a frame
    // in software WebGL; a trivial shader, ~0.04 s.
    this.trails = scene.primitives.add(new C.PrimitiveCollection());
    // Velocity leaders: one GL_LINES primitive rebuilt per update (a PolylineCollection of
    // 10,000 screen-space polylines costs ~0.35 s a frame to draw in software).
    this.leaders = scene.primitives.add(new C.PrimitiveCollection());
    this.ballistic = scene.primitives.add(new C.PolylineCollection());
    // Dots (dense picture from afar): one GL_POINTS primitive, rebuilt per update.
    this.dots = scene.primitives.add(new C.PrimitiveCollection());
    // Track symbols: GL_POINTS sprites, one primitive per distinct symbol, rebuilt per update.
    // A BillboardCollection's vertex shader cost ~27 µs per billboard a frame in software WebGL
    // (2,000 hostile symbols ~55 ms, whatever their size); a sprite's is trivial.
    this.symbols = scene.primitives.add(new C.PrimitiveCollection());
    this.spriteLooks = new Map();  // SIDC and dense → {appearance}, made once
    // Sensor sites and their names after the symbols: drawn over them, never hidden.
    this.sites = scene.primitives.add(new C.BillboardCollection({ scene }));
    this.siteLabels = scene.primitives.add(new C.LabelCollection({ scene }));
    this.labels = scene.primitives.add(new C.LabelCollection({ scene }));
    // The operator's tools: measurement line, range rings and bullseye, with their labels.
    this.tools = scene.primitives.add(new C.PolylineCollection());
    this.toolLabels = scene.primitives.add(new C.LabelCollection({ scene }));
    this.selection = scene.primitives.add(new C.BillboardCollection({ scene }));
    // A track's data block: what the page says of it (units and fields are the operator's).
    this.labelText = (t) => t.id;

    this.tracks = new Map();
    this.trailSlots = Array.from({ length: TRAIL_SLOTS }, () => ({ primitive: null, time: null }));
    this.trailCursor = 0;
    this.lastTrailTime = null;
    this.layers = { trails: true, leaders: true, labels: true, sensors: true, coverage: true, ballistic: true };
    this.filter = () => true;
    this.selectedId = null;
    this.onSelect = () => {};
    this.impacts = new Map();   // warning id → entities of its impact ellipse
    this.paths = new Map();     // warning id → the dashed polyline of its predicted path
    this.launches = new Map();  // warning id → entity of its launch point
    this.frameTime = 0;

    this.selBillboard = this.selection.add({
      image: selectionBracket(), show: false,
      disableDepthTestDistance: Number.POSITIVE_INFINITY,
    });
    const handler = new C.ScreenSpaceEventHandler(scene.canvas);
    handler.setInputAction((e) => {
      if (this.onToolClick(e.position)) return;  // a tool (measure, bullseye) took the click
      const id = this._nearestTrack(e.position);
      this.select(id || null);
      this.onSelect(id || null);
    }, C.ScreenSpaceEventType.LEFT_CLICK);
    this.onToolClick = () => false;
    this.onCursor = () => {};
    this.dense = false;
    this.onDense = () => {};
    this.moving = false;
    // Cesium counts a change of the frustum as a move; a change of resolution changes the
    // frustum's aspect ratio in its last digits. Only a change of place or direction counts here
    // (else a stop would start a move, forever).
    this.restingView = null;
    scene.camera.moveStart.addEventListener(() => {
      const cam = scene.camera, was = this.restingView;
      if (was && C.Cartesian3.equalsEpsilon(cam.positionWC, was.position, 0, 1e-3)
        && C.Cartesian3.equalsEpsilon(cam.directionWC, was.direction, 0, 1e-9)) return;
      this.moving = true; this._motionDetail();
    });
    scene.camera.moveEnd.addEventListener(() => {
      const cam = scene.camera;
      this.restingView = { position: C.Cartesian3.clone(cam.positionWC), direction: C.Cartesian3.clone(cam.directionWC) };
      this.moving = false; this._motionDetail(); this._densify(); this.relabel(); scene.requestRender();
    });
    handler.setInputAction((e) => this.onCursor(this.pickLatLon(e.endPosition)), C.ScreenSpaceEventType.MOUSE_MOVE);
  }

  // Level of detail in motion (software renderer only): see MOVING_RESOLUTION.
  _motionDetail() {
    const reduced = this.software && this.moving;
    this.widget.resolutionScale = reduced ? MOVING_RESOLUTION : 1.0;
    this.scene.globe.maximumScreenSpaceError = reduced ? MOVING_TILE_ERROR_PX : 2;
    this.trails.show = this.layers.trails && !reduced;
    if (this.outlineScales) { this.outlineScales.fine.show = !reduced; this.outlineScales.coarse.show = reduced; }
  }

  home(lat = 34, lon = 137, heightM = 4.2e6) {
    this.scene.camera.setView({
      destination: C.Cartesian3.fromDegrees(lon, lat - 17, heightM),
      orientation: { heading: 0, pitch: C.Math.toRadians(-62), roll: 0 },
    });
  }

  flyTo(lat, lon, heightM = 1.6e6) {
    this.scene.camera.flyTo({
      destination: C.Cartesian3.fromDegrees(lon, lat - heightM / 2.2e5 * 0.9, heightM),
      orientation: { heading: 0, pitch: C.Math.toRadians(-60), roll: 0 }, duration: 1.2,
    });
  }

  // Country outlines at two scales: `url` (1:50m) at rest, `coarseUrl` (1:110m, a seventh of the
  // segments) while the camera moves in software WebGL.
  async loadOutlines(url, coarseUrl) {
    const [fine, coarse] = await Promise.all([url, coarseUrl].map((u) => this._outlinePrimitives(u)));
    this.outlines.add(fine); this.outlines.add(coarse);
    this.outlineScales = { fine, coarse };
    this._motionDetail();
    this.scene.requestRender();
  }

  async _outlinePrimitives(url) {
    const topo = await (await fetch(url)).json();
    // Borders and coasts apart: each segment drawn once (SwiftShader pays per line drawn).
    const mesh = topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b);
    const coast = topojson.mesh(topo, topo.objects.countries, (a, b) => a === b);
    // GL_LINES primitives (borders, coasts), one per 15° cell so that Cesium culls the cells
    // behind the globe or off screen: ~80,000 segments at 1:50m, a few dozen draws.
    const CELL_DEG = 15;
    const cells = new Map();  // cell key → [{xyz: [], color}] per colour
    const add = (geom, color, group) => {
      const p = new C.Cartesian3(), q = new C.Cartesian3();
      for (const line of geom.coordinates) {
        for (let i = 0; i + 1 < line.length; i++) {
          const key = `${Math.floor(line[i][0] / CELL_DEG)},${Math.floor(line[i][1] / CELL_DEG)}`;
          let cell = cells.get(key);
          if (!cell) { cell = [{ xyz: [], color: null }, { xyz: [], color: null }]; cells.set(key, cell); }
          const out = cell[group];
          out.color = color;
          C.Cartesian3.fromDegrees(line[i][0], line[i][1], 0, C.Ellipsoid.WGS84, p);
          C.Cartesian3.fromDegrees(line[i + 1][0], line[i + 1][1], 0, C.Ellipsoid.WGS84, q);
          out.xyz.push(p.x, p.y, p.z, q.x, q.y, q.z);
        }
      }
    };
    add(mesh, C.Color.fromCssColorString("#9fb6c8").withAlpha(0.55), 0);
    add(coast, C.Color.fromCssColorString("#cfe3f0").withAlpha(0.8), 1);
    const out = new C.PrimitiveCollection();
    for (const cell of cells.values()) {
      const groups = cell.filter((g) => g.xyz.length)
        .map((g) => ({ xyz: new Float64Array(g.xyz), count: g.xyz.length / 3, color: g.color }));
      if (groups.length) out.add(linesPrimitive(groups));
    }
    return out;
  }

  setSensors(sites, ownNation) {
    this.sites.removeAll(); this.siteLabels.removeAll(); this.coverage.removeAll();
    for (const s of sites) {
      const color = C.Color.fromCssColorString(NATION_CSS[s.nation] || "#a0b0c0");
      const sidc = s.type === "space_ir" ? "SFPPS----------" : "SFGPESR--------";
      const img = symbolImage(sidc, 16);
      const pos = C.Cartesian3.fromDegrees(s.lon_deg, s.lat_deg, s.type === "space_ir" ? 0 : s.alt_m);
      this.sites.add({ position: pos, image: img.canvas, width: img.width, height: img.height,
        scaleByDistance: new C.NearFarScalar(5e5, 1.2, 2e7, 0.8),
        disableDepthTestDistance: Number.POSITIVE_INFINITY });
      this.siteLabels.add({ position: pos, text: s.id, font: "600 11px DejaVu Sans Mono, monospace",
        fillColor: color, outlineColor: C.Color.BLACK, outlineWidth: 3,
        style: C.LabelStyle.FILL_AND_OUTLINE, pixelOffset: new C.Cartesian2(12, 10),
        horizontalOrigin: C.HorizontalOrigin.LEFT,
        showBackground: true, backgroundColor: C.Color.fromCssColorString("#03070b").withAlpha(0.55),
        backgroundPadding: new C.Cartesian2(3, 2),
        disableDepthTestDistance: Number.POSITIVE_INFINITY });
      if (s.max_range_m && s.type !== "space_ir") {
        for (const ring of coverageOutline(s)) {
          this.coverage.add({
            positions: C.Cartesian3.fromDegreesArrayHeights(ring.flatMap(([la, lo]) => [lo, la, 1000])),
            width: 1.2,
            material: C.Material.fromType("PolylineDash", {
              color: color.withAlpha(s.nation === ownNation ? 0.6 : 0.35), dashLength: 12 }),
          });
        }
      }
    }
    this.applyLayers();
  }

  setPlaces(places, assets) {
    this.placeLayer.removeAll();
    for (const p of places) {
      this.placeLayer.add({ position: C.Cartesian3.fromDegrees(p.lon_deg, p.lat_deg), text: `· ${p.name}`,
        font: "10px DejaVu Sans, sans-serif", fillColor: C.Color.fromCssColorString("#8aa0b4"),
        outlineColor: C.Color.BLACK, outlineWidth: 2, style: C.LabelStyle.FILL_AND_OUTLINE,
        translucencyByDistance: new C.NearFarScalar(2e6, 1.0, 9e6, 0.0) });
    }
    for (const a of assets) {
      const ring = ellipseOutline(a.lat_deg, a.lon_deg, a.radius_m, a.radius_m, 0, 48);
      this.coverage.add({ positions: C.Cartesian3.fromDegreesArray(ring.flatMap(([la, lo]) => [lo, la])),
        width: 2, material: C.Material.fromType("Color", { color: C.Color.fromCssColorString("#80e0ff").withAlpha(0.9) }) });
      this.placeLayer.add({ position: C.Cartesian3.fromDegrees(a.lon_deg, a.lat_deg), text: `◆ ${a.name}`,
        font: "bold 11px DejaVu Sans, sans-serif", fillColor: C.Color.fromCssColorString("#80e0ff"),
        outlineColor: C.Color.BLACK, outlineWidth: 3, style: C.LabelStyle.FILL_AND_OUTLINE,
        pixelOffset: new C.Cartesian2(0, -14) });
    }
  }

  // ------------------------------------------------------------------ tracks

  clearTracks() {
    for (const t of this.tracks.values()) this._removeTrack(t);
    this.tracks.clear();
    this.trails.removeAll();
    for (const slot of this.trailSlots) { slot.primitive = null; slot.time = null; }
    this.lastTrailTime = null;
  }

  _removeTrack(t) {
    if (t.label) this.labels.remove(t.label);
    if (t.bal) { for (const p of t.bal) this.ballistic.remove(p); t.bal = null; }
  }

  applyFrame(frame) {
    if (frame.reset) this.clearTracks();
    for (const id of frame.removed) {
      const t = this.tracks.get(id);
      if (t) { this._removeTrack(t); this.tracks.delete(id); }
      if (id === this.selectedId) this.select(null);
    }
    for (const [id, cls, identity, sources, conf, start] of frame.meta) {
      let t = this.tracks.get(id);
      if (!t) {
        t = { id, label: null, hist: [], first: frame.time_s, bal: null, sidc: "" };
        this.tracks.set(id, t);
      }
      t.cls = cls; t.identity = identity; t.sources = sources; t.conf = conf;
      // When the track started in this nation's picture (the server's word), not when this
      // page first saw it.
      if (start != null) t.start = start;
      t.sidc = trackSidc(cls, identity);
      if (t.visible !== undefined) this._showSymbol(t);
    }
    const ell = C.Ellipsoid.WGS84;
    const n = frame.ids.length;
    for (let i = 0; i < n; i++) {
      const t = this.tracks.get(frame.ids[i]);
      if (!t) continue;
      const lat = frame.lat_deg[i], lon = frame.lon_deg[i], alt = frame.alt_m[i] ?? 0;
      const ve = frame.vel_e_mps[i] ?? 0, vn = frame.vel_n_mps[i] ?? 0, vu = frame.vel_u_mps[i] ?? 0;
      t.lat = lat; t.lon = lon; t.alt = alt; t.ve = ve; t.vn = vn; t.vu = vu; t.time = frame.time_s;
      if (frame.sigma_h_m) { t.sigmaH = frame.sigma_h_m[i]; t.sigmaU = frame.sigma_u_m[i]; t.age = frame.age_s[i]; }
      // Drawn at the surface when the estimate is below it (the panel says so).
      const pos = C.Cartesian3.fromDegrees(lon, lat, Math.max(alt, 0), ell, t.pos);
      t.pos = pos;
      const visible = this.filter(t);
      if (t.visible !== visible) { t.visible = visible; this._showSymbol(t); }
      // History
      const h = t.hist;
      if (!h.length || h[h.length - 1][0] < frame.time_s) {
        h.push([frame.time_s, lat, lon, alt, Math.hypot(ve, vn, vu)]);
        if (h.length > HISTORY_KEEP) h.splice(0, h.length - HISTORY_KEEP);
      }
      if (t.cls === "ballistic_missile") this._ballistic(t, visible);
      else if (t.bal) { for (const q of t.bal) this.ballistic.remove(q); t.bal = null; }
    }
    this._densify();
    this._refreshLeaders();
    this._setMarks();
    const last = this.lastTrailTime;
    if (last === null || frame.time_s < last || frame.time_s - last >= TRAIL_STEP_S - 1e-6) {
      this._addTrailSlot(frame.time_s);
      this.lastTrailTime = frame.time_s;
    }
    this.relabel();
    this.frameTime = frame.time_s;
    this.scene.requestRender();
    if (this.selectedId) this._placeSelection();
  }


  // Labels. Few tracks: every one. Many: text layout and drawing cost too much for all of
  // them (2,000 labels took ~3 s a frame in software), so the selected track, ballistic
  // missiles, and, once the camera is within LABEL_CAMERA_M, the LABEL_NEAREST tracks
  // nearest it. Called after each update and when the camera stops moving.
  relabel() {
    const few = this.tracks.size < LABEL_ALL_BELOW;
    const wanted = new Set();
    if (this.layers.labels) {
      if (few) {
        for (const t of this.tracks.values()) if (t.visible && t.pos) wanted.add(t);
      } else {
        for (const t of this.tracks.values()) {
          if (t.visible && t.pos && (t.cls === "ballistic_missile" || t.id === this.selectedId)) wanted.add(t);
        }
        if (this.viewHeightM() < LABEL_CAMERA_M) {
          const near = [];
          const cp = this.scene.mode === C.SceneMode.SCENE3D ? this.scene.camera.positionWC : this.viewCentre();
          for (const t of this.tracks.values()) {
            if (t.visible && t.pos) near.push([C.Cartesian3.distanceSquared(cp, t.pos), t]);
          }
          near.sort((a, b) => a[0] - b[0]);
          for (let i = 0; i < Math.min(LABEL_NEAREST, near.length); i++) wanted.add(near[i][1]);
        }
      }
    }
    for (const t of this.labelled || []) if (!wanted.has(t) && t.label) t.label.show = false;
    for (const t of wanted) this._label(t);
    this.labelled = wanted;
  }

  // A data block: bright text on a dark plate (legible on any imagery at 1080p), in the
  // track's identity colour; threats' blocks show at any range, others' within 3,500 km.
  _label(t) {
    const text = this.labelText(t);
    if (!t.label) {
      const threat = t.identity === "hostile" || t.cls !== "aircraft";
      t.label = this.labels.add({ position: t.pos, text, font: "600 12px DejaVu Sans Mono, monospace",
        fillColor: identityColor[t.identity] || C.Color.WHITE, outlineColor: C.Color.BLACK, outlineWidth: 2,
        style: C.LabelStyle.FILL_AND_OUTLINE, pixelOffset: new C.Cartesian2(16, -4),
        horizontalOrigin: C.HorizontalOrigin.LEFT, verticalOrigin: C.VerticalOrigin.CENTER,
        showBackground: true, backgroundColor: C.Color.fromCssColorString("#03070b").withAlpha(0.72),
        backgroundPadding: new C.Cartesian2(4, 2),
        distanceDisplayCondition: threat ? undefined : new C.DistanceDisplayCondition(0, 3.5e6) });
    } else {
      t.label.position = t.pos; t.label.text = text;
      t.label.fillColor = identityColor[t.identity] || C.Color.WHITE;
    }
    t.label.show = true;
  }

  // Ballistic missile: its flown 3D trajectory and a drop line to the ground. Where it is
  // going is the server's: the predicted path and impact ellipse of its warning (setImpact).
  _ballistic(t, visible) {
    const show = visible && this.layers.ballistic;
    const color = identityColor[t.identity] || C.Color.WHITE;
    if (!t.bal) {
      t.bal = [
        this.ballistic.add({ width: 2.5, material: C.Material.fromType("Color", { color }) }),
        this.ballistic.add({ width: 1, material: C.Material.fromType("Color", { color: color.withAlpha(0.5) }) }),
      ];
    }
    const [flown, drop] = t.bal;
    const hist = t.hist;
    if (hist.length >= 2) flown.positions = C.Cartesian3.fromDegreesArrayHeights(hist.flatMap((h) => [h[2], h[1], h[3]]));
    flown.show = show && hist.length >= 2;
    drop.positions = [t.pos, C.Cartesian3.fromDegrees(t.lon, t.lat, 0)];
    drop.show = show;
  }

  // A warning's predicted impact: its ellipse, centre and label on the ground, and (when the
  // warning carries it) the predicted path to it, drawn as sent: `path` holds the columns
  // lat_deg, lon_deg, alt_m, time_s (threat/warning.py, PredictedPath).
  setImpact(trackId, impact, label, path) {
    this.clearImpact(trackId);
    if (!impact) return;
    if (path && path.lat_deg.length >= 2) {
      const heights = path.lat_deg.flatMap((lat, i) => [path.lon_deg[i], lat, path.alt_m[i]]);
      this.paths.set(trackId, this.ballistic.add({
        positions: C.Cartesian3.fromDegreesArrayHeights(heights), width: 2,
        material: C.Material.fromType("PolylineDash", { color: C.Color.fromCssColorString("#ff3b30").withAlpha(0.9), dashLength: 14 }),
      }));
    }
    const ring = ellipseOutline(impact.lat_deg, impact.lon_deg, impact.semi_major_m, impact.semi_minor_m, impact.orientation_deg || 0);
    const flat = ring.flatMap(([la, lo]) => [lo, la]);
    const red = C.Color.fromCssColorString("#ff3b30");
    const entities = [
      this.widget.entities.add({ polygon: { hierarchy: C.Cartesian3.fromDegreesArray(flat),
        material: red.withAlpha(0.22), height: 0 } }),
      this.widget.entities.add({ polyline: { positions: C.Cartesian3.fromDegreesArray(flat), width: 2.5,
        material: red } }),
      this.widget.entities.add({ position: C.Cartesian3.fromDegrees(impact.lon_deg, impact.lat_deg),
        point: { pixelSize: 7, color: red, outlineColor: C.Color.WHITE, outlineWidth: 1.5 },
        label: { text: label, font: "bold 11px DejaVu Sans Mono, monospace", fillColor: C.Color.WHITE,
          outlineColor: C.Color.BLACK, outlineWidth: 3, style: C.LabelStyle.FILL_AND_OUTLINE,
          showBackground: true, backgroundColor: red.withAlpha(0.75),
          pixelOffset: new C.Cartesian2(0, 22), verticalOrigin: C.VerticalOrigin.TOP } }),
    ];
    this.impacts.set(trackId, entities);
    this.scene.requestRender();
  }

  clearImpact(trackId) {
    for (const e of this.impacts.get(trackId) || []) this.widget.entities.remove(e);
    this.impacts.delete(trackId);
    const path = this.paths.get(trackId);
    if (path) this.ballistic.remove(path);
    this.paths.delete(trackId);
  }

  clearImpacts() { for (const id of [...this.impacts.keys()]) this.clearImpact(id); }

  // Launch point estimate from a launch notice: an amber circle of its 95 % radius.
  setLaunch(key, launch) {
    this.clearLaunch(key);
    const amber = C.Color.fromCssColorString("#ffb020");
    const ring = ellipseOutline(launch.lat_deg, launch.lon_deg, launch.radius_m || 10000, launch.radius_m || 10000, 0, 48);
    const entity = this.widget.entities.add({
      position: C.Cartesian3.fromDegrees(launch.lon_deg, launch.lat_deg),
      polyline: { positions: C.Cartesian3.fromDegreesArray(ring.flatMap(([la, lo]) => [lo, la])), width: 2, material: amber },
      point: { pixelSize: 6, color: amber, outlineColor: C.Color.BLACK, outlineWidth: 1 },
      label: { text: "LAUNCH", font: "bold 10px DejaVu Sans Mono, monospace", fillColor: amber,
        outlineColor: C.Color.BLACK, outlineWidth: 3, style: C.LabelStyle.FILL_AND_OUTLINE,
        pixelOffset: new C.Cartesian2(0, -14) },
    });
    this.launches.set(key, entity);
    this.scene.requestRender();
  }

  clearLaunch(key) {
    const e = this.launches.get(key);
    if (e) this.widget.entities.remove(e);
    this.launches.delete(key);
  }

  clearLaunches() { for (const k of [...this.launches.keys()]) this.clearLaunch(k); }

  select(id) {
    const was = this.selectedId && this.tracks.get(this.selectedId);
    this.selectedId = id && this.tracks.has(id) ? id : null;
    if (was) this._showSymbol(was);
    if (this.selectedId) this._showSymbol(this.tracks.get(this.selectedId));
    this._setMarks();
    this._placeSelection();
    this.relabel();
  }

  _placeSelection() {
    this.scene.requestRender();
    const t = this.selectedId && this.tracks.get(this.selectedId);
    this.selBillboard.show = Boolean(t);
    if (t) this.selBillboard.position = t.pos;
  }

  // A symbol, or (dense picture, from afar, not a threat) a dot.
  _showSymbol(t) {
    const dot = this.dense && t.visible && t.identity !== "hostile" && t.id !== this.selectedId
      && (t.cls === "aircraft" || t.cls === "unknown");
    t.dot = dot;
  }

  // The symbols (one sprite primitive per SIDC) and dots (one primitive), rebuilt per update
  // and when what is drawn how changes.
  _setMarks() {
    this.dots.removeAll();
    this.symbols.removeAll();
    const dots = this._groupBuffers("_dotXyz", this.dense ? this.tracks.size : 0, 1);
    const bySidc = new Map();
    for (const t of this.tracks.values()) {
      if (!t.visible || !t.pos) continue;
      if (t.dot) { this._push(dots, t.identity, t.pos); continue; }
      let g = bySidc.get(t.sidc);
      if (!g) { g = { xyz: [], count: 0, color: C.Color.WHITE }; bySidc.set(t.sidc, g); }
      g.xyz.push(t.pos.x, t.pos.y, t.pos.z);
      g.count++;
    }
    const dotGroups = Object.values(dots.byIdentity).filter((g) => g.count > 0);
    if (dotGroups.length) this.dots.add(pointsPrimitive(dotGroups, 7, { outlined: true }));
    // Drawn in this order: hostile symbols (SIDC affiliation H), then missiles, last, on top.
    const rank = (sidc) => (sidc[1] === "H" ? 2 : 0) + (sidc.slice(4, 6) === "WM" ? 1 : 0);
    for (const [sidc, g] of [...bySidc].sort((a, b) => rank(a[0]) - rank(b[0]))) {
      g.xyz = new Float64Array(g.xyz);
      this.symbols.add(batchPrimitive([g], C.PrimitiveType.POINTS, this._spriteLook(sidc)));
    }
    this.scene.requestRender();
  }

  // A symbol's sprite: milsymbol's canvas padded to a square centred on its anchor.
  _spriteLook(sidc) {
    const key = `${sidc}|${this.dense}`;
    let look = this.spriteLooks.get(key);
    if (!look) {
      const img = symbolImage(sidc, 20);
      const k = img.canvas.width / img.width;  // canvas pixels per CSS pixel
      const half = Math.ceil(Math.max(img.anchor.x, img.width - img.anchor.x, img.anchor.y, img.height - img.anchor.y));
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = Math.ceil(2 * half * k);
      canvas.getContext("2d").drawImage(img.canvas, (half - img.anchor.x) * k, (half - img.anchor.y) * k);
      look = { appearance: spriteAppearance(canvas, 2 * half) };
      this.spriteLooks.set(key, look);
    }
    return look.appearance;
  }

  // Sprites and dots have no pick colour: a click takes the nearest track on screen within
  // 10 pixels, on the near side of the Earth.
  _nearestTrack(windowPos) {
    const occluder = this.scene.mode === C.SceneMode.SCENE3D
      ? new C.EllipsoidalOccluder(C.Ellipsoid.WGS84, this.scene.camera.positionWC) : { isPointVisible: () => true };
    const xy = new C.Cartesian2();
    let best = null, bestD2 = 100;
    for (const t of this.tracks.values()) {
      if (!t.visible || !t.pos || !occluder.isPointVisible(t.pos)) continue;
      if (!C.SceneTransforms.worldToWindowCoordinates(this.scene, t.pos, xy)) continue;
      const d2 = (xy.x - windowPos.x) ** 2 + (xy.y - windowPos.y) ** 2;
      if (d2 < bestD2) { bestD2 = d2; best = t.id; }
    }
    return best;
  }

  // Per identity colour: a Float64Array with room for `n` tracks × `perTrack` positions
  // (kept in this[key], reused while big enough), counts reset.
  _groupBuffers(key, n, perTrack, alpha = 1) {
    if (!this[key] || this[key].capacity < n * perTrack) {
      const byIdentity = {};
      for (const k of Object.keys(identityColor)) byIdentity[k] = { xyz: new Float64Array(n * perTrack * 3), count: 0, color: identityColor[k].withAlpha(alpha) };
      this[key] = { capacity: n * perTrack, byIdentity };
    }
    for (const g of Object.values(this[key].byIdentity)) g.count = 0;
    return this[key];
  }

  _push(buffers, identity, p) {
    const g = buffers.byIdentity[identity] || buffers.byIdentity.unknown;
    const j = g.count * 3;
    g.xyz[j] = p.x; g.xyz[j + 1] = p.y; g.xyz[j + 2] = p.z;
    g.count++;
  }

  // History trails: the slot after the newest gets this frame's positions; older slots fade.
  _addTrailSlot(timeS) {
    const slot = this.trailSlots[this.trailCursor];
    this.trailCursor = (this.trailCursor + 1) % TRAIL_SLOTS;
    slot.time = timeS;
    this._buildTrailSlot(slot);
    this._fadeTrails();
  }

  _buildTrailSlot(slot) {
    if (slot.primitive) { this.trails.remove(slot.primitive); slot.primitive = null; }
    if (!this.layers.trails || slot.time === null) return;
    const b = this._groupBuffers("_trailXyz", this.tracks.size, 1);
    const p = new C.Cartesian3();
    for (const t of this.tracks.values()) {
      if (!t.visible || !t.pos) continue;
      if (t.time === slot.time) { this._push(b, t.identity, t.pos); continue; }
      const h = t.hist;  // an older slot (a rebuild): the track's position at that time, if held
      for (let i = h.length - 1; i >= 0 && h[i][0] >= slot.time; i--) {
        if (h[i][0] === slot.time) { this._push(b, t.identity, C.Cartesian3.fromDegrees(h[i][2], h[i][1], h[i][3], C.Ellipsoid.WGS84, p)); break; }
      }
    }
    const groups = Object.values(b.byIdentity).filter((g) => g.count > 0);
    if (groups.length) slot.primitive = this.trails.add(pointsPrimitive(groups, 2, { alpha: 0.7 }));
  }

  _fadeTrails() {
    for (let age = 0; age < TRAIL_SLOTS; age++) {
      const slot = this.trailSlots[(this.trailCursor - 1 - age + 2 * TRAIL_SLOTS) % TRAIL_SLOTS];
      if (slot.primitive) slot.primitive.appearance.material.uniforms.color.alpha = 0.8 * (1 - age / TRAIL_SLOTS) + 0.1;
    }
  }

  _rebuildTrails() {
    for (const slot of this.trailSlots) this._buildTrailSlot(slot);
    this._fadeTrails();
  }

  _densify() {
    const h = this.viewHeightM();
    const dense = h > THEATRE_CAMERA_M || (this.tracks.size >= DENSE_TRACKS && h > DENSE_CAMERA_M);
    if (dense === this.dense) return;
    this.dense = dense;
    for (const t of this.tracks.values()) this._showSymbol(t);
    this._setMarks();
    this.onDense(dense);
  }

  // Velocity leaders, one GL_LINES primitive rebuilt per update (and after a filter or layer
  // change): to where each track will be in LEADER_S, straight on the sphere (east/north).
  _refreshLeaders() {
    this.leaders.removeAll();
    if (!this.layers.leaders) return;
    const b = this._groupBuffers("_leaderXyz", this.tracks.size, 2, 0.9);
    const end = new C.Cartesian3();
    const k = LEADER_S / 6371008.8 * 57.29577951308232;
    for (const t of this.tracks.values()) {
      if (!t.visible || !t.pos) continue;
      const lat2 = t.lat + t.vn * k;
      const lon2 = t.lon + t.ve * k / Math.max(Math.cos(t.lat * 0.017453292519943295), 0.01);
      C.Cartesian3.fromDegrees(lon2, lat2, Math.max(t.alt + t.vu * LEADER_S, 0), C.Ellipsoid.WGS84, end);
      this._push(b, t.identity, t.pos);
      this._push(b, t.identity, end);
    }
    const groups = Object.values(b.byIdentity).filter((g) => g.count > 0);
    if (groups.length) this.leaders.add(linesPrimitive(groups));
  }

  // How high the view is (m): the camera's height on the globe; in the plan view, the height
  // from which the globe's 60° field of view would show the same width.
  viewHeightM() {
    const cam = this.scene.camera;
    if (this.scene.mode !== C.SceneMode.SCENE2D) return cam.positionCartographic.height;
    const f = cam.frustum;
    return (f.right - f.left) / 2 / Math.tan(C.Math.toRadians(30));
  }

  // The point of the Earth at the centre of the view (or the origin, looking past the Earth).
  viewCentre() {
    const c = this.scene.canvas;
    const p = this.scene.camera.pickEllipsoid(new C.Cartesian2(c.clientWidth / 2, c.clientHeight / 2));
    return p || C.Cartesian3.ZERO;
  }

  // Window position (CSS pixels) → {lat, lon} on the ellipsoid, or null off the Earth.
  pickLatLon(windowPos) {
    const cart = this.scene.camera.pickEllipsoid(windowPos, this.scene.globe.ellipsoid);
    if (!cart) return null;
    const g = C.Cartographic.fromCartesian(cart);
    return { lat: C.Math.toDegrees(g.latitude), lon: C.Math.toDegrees(g.longitude) };
  }

  // The 2D north-up plan view (Cesium's geographic projection: plate carrée), or the globe.
  // The camera keeps looking at the same place.
  setPlanView(on) {
    const scene = this.scene;
    const want = on ? C.SceneMode.SCENE2D : C.SceneMode.SCENE3D;
    if (scene.mode === want) return;
    const centre = this.viewCentre();
    const g = C.Cartesian3.equals(centre, C.Cartesian3.ZERO) ? null : C.Cartographic.fromCartesian(centre);
    const height = Math.min(Math.max(this.viewHeightM(), 2e5), 2e7);
    if (on) scene.morphTo2D(0); else scene.morphTo3D(0);
    if (g) {
      const lat = C.Math.toDegrees(g.latitude), lon = C.Math.toDegrees(g.longitude);
      if (on) scene.camera.setView({ destination: C.Cartesian3.fromDegrees(lon, lat, height) });
      else {
        scene.camera.setView({ destination: C.Cartesian3.fromDegrees(lon, lat - height / 2.2e5 * 0.9, height),
          orientation: { heading: 0, pitch: C.Math.toRadians(-60), roll: 0 } });
      }
    }
    // The plan view stays north-up: the widget's map mode is INFINITE_SCROLL (no rotation).
    this._densify(); this._setMarks(); this.relabel(); scene.requestRender();
  }

  get planView() { return this.scene.mode === C.SceneMode.SCENE2D; }

  // ------------------------------------------------------------------ operator's tools

  // A measurement line from `a` to `b` ({lat, lon}), with its label (text given).
  setMeasure(a, b, text) {
    this._clearToolGroup("measure");
    if (!a) return;
    const amber = C.Color.fromCssColorString("#ffd60a");
    const pts = b ? [a, b] : [a];
    const group = { lines: [], labels: [] };
    if (b) {
      // A geodesic drawn as Cesium's own (PolylineCollection arcs along the ellipsoid).
      group.lines.push(this.tools.add({ positions: C.Cartesian3.fromDegreesArray([a.lon, a.lat, b.lon, b.lat]),
        width: 2.5, material: C.Material.fromType("Color", { color: amber }) }));
    }
    for (const p of pts) {
      group.labels.push(this.toolLabels.add({ position: C.Cartesian3.fromDegrees(p.lon, p.lat), text: "+",
        font: "bold 18px DejaVu Sans Mono, monospace", fillColor: amber, outlineColor: C.Color.BLACK, outlineWidth: 3,
        style: C.LabelStyle.FILL_AND_OUTLINE, horizontalOrigin: C.HorizontalOrigin.CENTER,
        verticalOrigin: C.VerticalOrigin.CENTER, disableDepthTestDistance: Number.POSITIVE_INFINITY }));
    }
    if (b && text) {
      group.labels.push(this.toolLabels.add({ position: C.Cartesian3.fromDegrees(b.lon, b.lat), text,
        font: "600 13px DejaVu Sans Mono, monospace", fillColor: amber, outlineColor: C.Color.BLACK, outlineWidth: 2,
        style: C.LabelStyle.FILL_AND_OUTLINE, showBackground: true,
        backgroundColor: C.Color.fromCssColorString("#03070b").withAlpha(0.8), pixelOffset: new C.Cartesian2(14, 14),
        horizontalOrigin: C.HorizontalOrigin.LEFT, disableDepthTestDistance: Number.POSITIVE_INFINITY }));
    }
    this._toolGroups = this._toolGroups || {};
    this._toolGroups.measure = group;
    this.scene.requestRender();
  }

  // Range rings every `stepM` out to `count` rings around a bullseye at `centre`, each ring
  // labelled (`ringText(i)`), the bullseye named `name`; circles of geodesic radius.
  setRings(centre, stepM, count, ringText, name, circle) {
    this._clearToolGroup("rings");
    if (!centre) return;
    const cyan = C.Color.fromCssColorString("#9be7ff");
    const group = { lines: [], labels: [] };
    for (let i = 1; i <= count; i++) {
      const ring = circle(centre.lat, centre.lon, i * stepM);
      group.lines.push(this.tools.add({ positions: C.Cartesian3.fromDegreesArray(ring.flatMap(([la, lo]) => [lo, la])),
        width: i === count ? 1.6 : 1.1, material: C.Material.fromType("Color", { color: cyan.withAlpha(0.55) }) }));
      const [la, lo] = ring[0];  // due north of the centre
      group.labels.push(this.toolLabels.add({ position: C.Cartesian3.fromDegrees(lo, la), text: ringText(i),
        font: "11px DejaVu Sans Mono, monospace", fillColor: cyan, outlineColor: C.Color.BLACK, outlineWidth: 2,
        style: C.LabelStyle.FILL_AND_OUTLINE, horizontalOrigin: C.HorizontalOrigin.CENTER,
        verticalOrigin: C.VerticalOrigin.BOTTOM, disableDepthTestDistance: Number.POSITIVE_INFINITY }));
    }
    group.labels.push(this.toolLabels.add({ position: C.Cartesian3.fromDegrees(centre.lon, centre.lat), text: `◎ ${name}`,
      font: "bold 12px DejaVu Sans Mono, monospace", fillColor: cyan, outlineColor: C.Color.BLACK, outlineWidth: 3,
      style: C.LabelStyle.FILL_AND_OUTLINE, horizontalOrigin: C.HorizontalOrigin.LEFT,
      pixelOffset: new C.Cartesian2(-7, 0), disableDepthTestDistance: Number.POSITIVE_INFINITY }));
    this._toolGroups = this._toolGroups || {};
    this._toolGroups.rings = group;
    this.scene.requestRender();
  }

  // A track's history, [[time_s, lat, lon, alt_m, speed_mps], ...] oldest first: the
  // server's since the track started (`serverHist`, once asked for), then what this page
  // was sent after it; only the page's own (`hist`) until the server has answered.
  historyOf(t) {
    const own = t.hist;
    if (!t.serverHist || !t.serverHist.length) return own;
    const last = t.serverHist[t.serverHist.length - 1][0];
    return t.serverHist.concat(own.filter((h) => h[0] > last));
  }

  // A track's whole history drawn on the map (on demand from its detail panel), or none.
  showHistory(id) {
    if (this.historyLine) { this.tools.remove(this.historyLine); this.historyLine = null; }
    this.historyId = id;
    const t = id && this.tracks.get(id);
    const hist = t ? this.historyOf(t) : [];
    if (t && hist.length >= 2) {
      this.historyLine = this.tools.add({
        positions: C.Cartesian3.fromDegreesArrayHeights(hist.flatMap((h) => [h[2], h[1], Math.max(h[3], 0)])),
        width: 2, material: C.Material.fromType("PolylineGlow", { color: (identityColor[t.identity] || C.Color.WHITE).withAlpha(0.9), glowPower: 0.2 }) });
    }
    this.scene.requestRender();
  }

  _clearToolGroup(name) {
    const g = this._toolGroups && this._toolGroups[name];
    if (!g) return;
    for (const l of g.lines) this.tools.remove(l);
    for (const l of g.labels) this.toolLabels.remove(l);
    delete this._toolGroups[name];
    this.scene.requestRender();
  }

  // Ground distance (m) across `px` CSS pixels at the bottom middle of the view, or null
  // (looking past the Earth there): for the scale bar.
  groundMetresAcross(px, distance) {
    const c = this.scene.canvas;
    const y = c.clientHeight - 40, x0 = c.clientWidth / 2 - px / 2;
    const a = this.pickLatLon(new C.Cartesian2(x0, y)), b = this.pickLatLon(new C.Cartesian2(x0 + px, y));
    return a && b ? distance(a.lat, a.lon, b.lat, b.lon) : null;
  }

  // GeoJSON layers ([{name, color, geojson}]): outlines of (multi)polygons and lines, points as
  // labelled marks, each layer's name at its first feature.
  setGeoLayers(layers) {
    this.geoLayers.removeAll(); this.geoLabels.removeAll();
    for (const layer of layers) {
      const color = C.Color.fromCssColorString(layer.color || "#c39bff").withAlpha(0.85);
      const xyz = [];
      const p = new C.Cartesian3(), q = new C.Cartesian3();
      const line = (coords) => {
        for (let i = 0; i + 1 < coords.length; i++) {
          C.Cartesian3.fromDegrees(coords[i][0], coords[i][1], 0, C.Ellipsoid.WGS84, p);
          C.Cartesian3.fromDegrees(coords[i + 1][0], coords[i + 1][1], 0, C.Ellipsoid.WGS84, q);
          xyz.push(p.x, p.y, p.z, q.x, q.y, q.z);
        }
      };
      const features = layer.geojson.type === "FeatureCollection" ? layer.geojson.features
        : layer.geojson.type === "Feature" ? [layer.geojson] : [{ type: "Feature", geometry: layer.geojson, properties: {} }];
      for (const f of features) {
        const g = f.geometry;
        if (!g) continue;
        const name = (f.properties && (f.properties.name || f.properties.NAME)) || "";
        let anchor = null;
        if (g.type === "Polygon") { g.coordinates.forEach(line); anchor = g.coordinates[0][0]; }
        else if (g.type === "MultiPolygon") { g.coordinates.forEach((poly) => poly.forEach(line)); anchor = g.coordinates[0][0][0]; }
        else if (g.type === "LineString") { line(g.coordinates); anchor = g.coordinates[0]; }
        else if (g.type === "MultiLineString") { g.coordinates.forEach(line); anchor = g.coordinates[0][0]; }
        else if (g.type === "Point") anchor = g.coordinates;
        if (anchor) {
          this.geoLabels.add({ position: C.Cartesian3.fromDegrees(anchor[0], anchor[1]), text: name ? `${layer.name} · ${name}` : layer.name,
            font: "11px DejaVu Sans, sans-serif", fillColor: color, outlineColor: C.Color.BLACK, outlineWidth: 2,
            style: C.LabelStyle.FILL_AND_OUTLINE, pixelOffset: new C.Cartesian2(4, -8), horizontalOrigin: C.HorizontalOrigin.LEFT });
        }
      }
      if (xyz.length) this.geoLayers.add(linesPrimitive([{ xyz: new Float64Array(xyz), count: xyz.length / 3, color }]));
    }
    this.scene.requestRender();
  }

  refilter() {
    for (const t of this.tracks.values()) {
      const v = this.filter(t);
      t.visible = v;
      this._showSymbol(t);
      if (t.bal) for (const p of t.bal) p.show = v && this.layers.ballistic;
    }
    this._refreshLeaders();
    this._setMarks();
    this._rebuildTrails();
    this.relabel();
  }

  applyLayers() {
    this.scene.requestRender();
    this.sites.show = this.layers.sensors; this.siteLabels.show = this.layers.sensors;
    this.coverage.show = this.layers.coverage;
    this._motionDetail(); this.leaders.show = this.layers.leaders;
    this.labels.show = this.layers.labels; this.ballistic.show = this.layers.ballistic;
    this.refilter();
  }
}

function isSoftwareRenderer(gl) {
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
  return /swiftshader|llvmpipe|softpipe|software/i.test(name);
}

// One GL_LINES primitive for [{xyz: Float64Array of segment ends, count: vertices, color}]:
// one draw call, a trivial vertex shader, 1-pixel lines.
function linesPrimitive(groups) {
  return batchPrimitive(groups, C.PrimitiveType.LINES, new C.PerInstanceColorAppearance({ flat: true, translucent: true }));
}

// GL_POINTS of `sizePx` (CSS pixels): a trivial vertex shader, whatever their number. With
// `outlined`, round dots with a dark rim; else square specks (a trail dot is 2 px). Their
// alpha is the per-group colour's times `material`'s (one uniform: a trail slot fades with age).
function pointsPrimitive(groups, sizePx, { outlined = false, alpha = 1 } = {}) {
  const vs = `in vec3 position3DHigh;
in vec3 position3DLow;
in vec4 color;
in float batchId;
out vec4 v_color;
void main() {
  v_color = color;
  gl_Position = czm_modelViewProjectionRelativeToEye * czm_computePosition();
  gl_PointSize = ${sizePx.toFixed(1)} * czm_pixelRatio;
}`;
  const fs = `in vec4 v_color;
void main() {
  czm_materialInput materialInput;
  float alpha = v_color.a * czm_getMaterial(materialInput).alpha;
  vec3 rgb = v_color.rgb;
  ${outlined ? `float r = length(gl_PointCoord - vec2(0.5));
  if (r > 0.5) discard;
  if (r > 0.5 - 1.2 / ${sizePx.toFixed(1)}) { rgb = vec3(0.0); alpha = max(alpha, 0.8); }` : ""}
  out_FragColor = czm_gammaCorrect(vec4(rgb, alpha));
}`;
  const appearance = new C.PerInstanceColorAppearance({
    flat: true, translucent: true, vertexShaderSource: vs, fragmentShaderSource: fs });
  appearance.material = C.Material.fromType("Color", { color: new C.Color(1, 1, 1, alpha) });
  return batchPrimitive(groups, C.PrimitiveType.POINTS, appearance);
}

// Point sprites of a symbol image (`sizePx` CSS pixels, square), scaled with distance as the
// billboards were: ×1.25 at 300 km from the camera to ×0.55 at 15,000 km.
function spriteAppearance(image, sizePx) {
  const vs = `in vec3 position3DHigh;
in vec3 position3DLow;
in vec4 color;
in float batchId;
void main() {
  vec4 positionEC = czm_modelViewRelativeToEye * czm_computePosition();
  float far = clamp((length(positionEC.xyz) - 3.0e5) / (1.5e7 - 3.0e5), 0.0, 1.0);
  gl_PointSize = ${sizePx.toFixed(1)} * mix(1.25, 0.55, far) * czm_pixelRatio;
  gl_Position = czm_projection * positionEC;
}`;
  const fs = `void main() {
  czm_materialInput materialInput;
  materialInput.st = vec2(gl_PointCoord.x, 1.0 - gl_PointCoord.y);
  czm_material m = czm_getMaterial(materialInput);
  if (m.alpha < 0.02) discard;
  out_FragColor = czm_gammaCorrect(vec4(m.diffuse, m.alpha));
}`;
  const appearance = new C.PerInstanceColorAppearance({
    flat: true, translucent: true, vertexShaderSource: vs, fragmentShaderSource: fs });
  appearance.material = C.Material.fromType("Image", { image });
  return appearance;
}

function batchPrimitive(groups, primitiveType, appearance) {
  const instances = groups.map(({ xyz, count, color }) => {
    const values = xyz.length === count * 3 ? xyz : xyz.slice(0, count * 3);
    return new C.GeometryInstance({
      geometry: new C.Geometry({
        attributes: { position: new C.GeometryAttribute({ componentDatatype: C.ComponentDatatype.DOUBLE, componentsPerAttribute: 3, values }) },
        primitiveType,
        boundingSphere: C.BoundingSphere.fromVertices(values),
      }),
      attributes: { color: C.ColorGeometryInstanceAttribute.fromColor(color) },
    });
  });
  return new C.Primitive({
    geometryInstances: instances,
    appearance,
    asynchronous: false, compressVertices: false, allowPicking: false,
  });
}

function selectionBracket() {
  const s = 44, c = document.createElement("canvas");
  c.width = s; c.height = s;
  const g = c.getContext("2d");
  g.strokeStyle = "#ffffff"; g.lineWidth = 2;
  const L = 11;
  for (const [x, y, dx, dy] of [[1, 1, 1, 1], [s - 1, 1, -1, 1], [1, s - 1, 1, -1], [s - 1, s - 1, -1, -1]]) {
    g.beginPath(); g.moveTo(x, y + dy * L); g.lineTo(x, y); g.lineTo(x + dx * L, y); g.stroke();
  }
  return c;
}
