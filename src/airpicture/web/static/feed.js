// The picture feed, off the page's main thread: this worker owns the WebSocket, decodes every
// message as it arrives, and holds picture frames until the page asks for them.
//
// Why: the page's main thread can be busy for hundreds of milliseconds drawing a frame (WebGL
// in software draws 10,000 symbols slowly). If it also had to read the socket, the browser
// would stop reading while it draws, the server's frames would queue in socket buffers, and
// every update would be shown seconds late. Here the socket is always read at once; frames
// wait in `queue`, and when more than MAX_QUEUED wait, the oldest are merged (a delta of
// deltas), so the page always gets the newest picture and at most MAX_QUEUED frames to apply.
//
// Page → worker: {op: "connect", url} | {op: "send", text} | {op: "close"} | {op: "pull"}
// Worker → page: {type: "_open"} | {type: "_close", code} | any server message but frames |
//                {type: "_frames", frames: [...], decodeMs} (the answer to a pull)

const MAX_QUEUED = 12;  // as many as the page's trail slots: catch-up frames keep their trails

let socket = null;
let queue = [];
let wanted = false;
let decodeMs = 0;
const decoder = new TextDecoder();

// `b` applied after `a`, as one frame: what the page must do to go from before `a` to after `b`.
export function mergeFrames(a, b) {
  if (b.reset) return b;
  const removed = new Set(b.removed);
  const meta = new Map();
  for (const m of a.meta) if (!removed.has(m[0])) meta.set(m[0], m);
  for (const m of b.meta) meta.set(m[0], m);
  const allRemoved = a.reset ? [...removed] : [...new Set([...a.removed, ...removed])];
  return { ...b, reset: a.reset, meta: [...meta.values()], removed: allRemoved };
}

function deliver() {
  if (!wanted || !queue.length) return;
  wanted = false;
  const frames = queue;
  queue = [];
  postMessage({ type: "_frames", frames, decodeMs });
  decodeMs = 0;
}

function onMessage(ev) {
  const t0 = performance.now();
  const msg = JSON.parse(typeof ev.data === "string" ? ev.data : decoder.decode(ev.data));
  if (msg.type !== "frame") { postMessage(msg); return; }
  decodeMs += performance.now() - t0;
  if (msg.reset) queue = [];
  queue.push(msg);
  if (queue.length > MAX_QUEUED) queue.splice(0, 2, mergeFrames(queue[0], queue[1]));
  deliver();
}

if (typeof self !== "undefined" && typeof WorkerGlobalScope !== "undefined") {
  self.onmessage = (ev) => {
    const m = ev.data;
    if (m.op === "connect") {
      if (socket) { socket.onclose = null; socket.close(); }
      queue = [];
      socket = new WebSocket(m.url);
      socket.binaryType = "arraybuffer";
      socket.onopen = () => postMessage({ type: "_open" });
      socket.onmessage = onMessage;
      socket.onclose = (e) => { socket = null; postMessage({ type: "_close", code: e.code }); };
    } else if (m.op === "send") {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(m.text);
    } else if (m.op === "close") {
      if (socket) { socket.onclose = null; socket.close(); socket = null; }
      queue = [];
    } else if (m.op === "pull") {
      wanted = true;
      deliver();
    }
  };
}
