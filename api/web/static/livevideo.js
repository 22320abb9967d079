// Live video of one camera at its own frame rate: the camera's H.264 packets, remuxed (never re-encoded) to
// fragmented MP4 by the server, arrive on a WebSocket and play through Media Source Extensions, kept close to the
// live edge; the newest analysis (boxes, zones, active rules) comes on the same socket, stamped with the media
// time of its frame, and is drawn on a canvas over the video for the frame being shown. Where MSE or the codec is
// missing the player says "unsupported" and its page falls back to analysed frames (snapshots or MJPEG).
import { t, rule } from "./common.js";

export const MSE = typeof window.MediaSource === "function" && typeof WebSocket === "function";
const LATENCY_S = 0.4;      // where playback sits behind the newest buffered frame
const CATCH_UP_S = 0.9;     // further behind than this: play 10% faster
const JUMP_S = 2.0;         // further behind than this (a tab woke up, a GOP was dropped): seek to the live edge
const KEEP_S = 8;           // buffered video kept behind the playhead
const STALE_S = 2.5;        // boxes older than this (on the video's clock) are not drawn
const RETRY_MS = [1000, 2000, 4000, 8000, 15000];
const ZONE = "#ffc800", RULE = "#dc1e1e";
const PALETTE = ["#4dabf7", "#63e6be", "#ffa94d", "#f783ac", "#b197fc", "#ffd43b", "#74c0fc", "#8ce99a"];

function label(name) {
  const s = t("class." + name);
  return s === "class." + name ? name.replace(/_/g, " ") : s;
}

function colour(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export class LivePlayer {
  // onState(s): "playing" when frames are presented, "unsupported" when this browser cannot play the stream
  constructor(cameraId, video, canvas, { onState = () => {} } = {}) {
    Object.assign(this, { cameraId, video, canvas, onState });
    this.frames = 0;           // frames presented since the page opened
    this.lastFrameAt = 0;      // performance.now() of the newest presented frame
    this.mediaTime = -1;       // media time of the newest presented frame (the camera's clock, seconds)
    this.overlayT = -1;        // the analysis time drawn for it
    this.unsupported = !MSE;
    this.running = false;
    this.sockets = 0;          // WebSockets opened (one per start or reconnect)
    this.retries = 0;
    this.retryAt = 0;          // no new socket before this (performance.now()): a refused camera is not hammered
    this.analyses = [];
    video.muted = true;
    video.playsInline = true;
  }

  get fresh() { return this.frames > 0 && performance.now() - this.lastFrameAt < 2000; }

  start() {
    if (this.running || this.unsupported || performance.now() < this.retryAt) return;
    this.running = true;
    this.queue = [];
    this.sb = null;
    this.mime = "";
    this.ms = new MediaSource();
    this.ms.addEventListener("sourceopen", () => this.openBuffer(), { once: true });
    this.video.src = URL.createObjectURL(this.ms);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = this.ws = new WebSocket(`${scheme}${location.host}/api/cameras/${encodeURIComponent(this.cameraId)}/video`);
    this.sockets += 1;
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => this.message(ev.data);
    ws.onclose = () => { if (this.ws === ws) this.restart(); };
    this.timer = setInterval(() => this.tick(), 250);
    this.watchFrames();
  }

  stop() {
    this.running = false;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    if (this.ws) { const ws = this.ws; this.ws = null; ws.close(); }
    if (this.video.src) {
      URL.revokeObjectURL(this.video.src);
      this.video.removeAttribute("src");
      this.video.load();
    }
    this.ms = this.sb = null;
    this.queue = [];
  }

  restart() {
    this.stop();
    if (this.unsupported) return;
    const wait = RETRY_MS[Math.min(this.retries, RETRY_MS.length - 1)];
    this.retries += 1;
    this.retryAt = performance.now() + wait;
    this.retryTimer = setTimeout(() => this.start(), wait + 10);
  }

  giveUp() {
    this.unsupported = true;
    this.stop();
    this.onState("unsupported");
  }

  message(data) {
    if (typeof data !== "string") { this.queue.push(data); this.pump(); return; }
    const m = JSON.parse(data);
    if (m.type === "analysis") {
      this.analyses.push(m);
      if (this.analyses.length > 60) this.analyses.shift();
    } else if (m.type === "init") {
      if (!MediaSource.isTypeSupported(m.mime)) return this.giveUp();
      if (this.sb && m.mime !== this.mime) {
        if (typeof this.sb.changeType !== "function") return this.restart();
        this.queue.push({ changeType: m.mime });
      }
      this.mime = m.mime;
      this.openBuffer();
    }
  }

  openBuffer() {
    if (this.sb || !this.mime || !this.ms || this.ms.readyState !== "open") return;
    this.sb = this.ms.addSourceBuffer(this.mime);
    this.sb.mode = "segments";  // the fragments' own times: the camera's media clock, which the analysis carries
    this.sb.addEventListener("updateend", () => this.pump());
    this.pump();
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || !this.queue.length) return;
    const next = this.queue.shift();
    try {
      if (next.changeType) { sb.changeType(next.changeType); this.pump(); }
      else sb.appendBuffer(next);
    } catch (e) {
      if (e.name === "QuotaExceededError" && this.video.currentTime > 1) {
        this.queue.unshift(next);
        sb.remove(0, this.video.currentTime - 1);
      } else {
        this.restart();  // a broken buffer: start again from the next keyframe
      }
    }
  }

  // keep near the live edge; trim what was played
  tick() {
    const v = this.video, b = v.buffered;
    if (!b.length) return;
    const start = b.start(b.length - 1), end = b.end(b.length - 1);
    const behind = end - v.currentTime;
    if (v.currentTime < start || behind > JUMP_S) {
      v.currentTime = Math.max(start, end - LATENCY_S);
    } else {
      v.playbackRate = behind > CATCH_UP_S ? 1.1 : 1.0;
    }
    if (v.paused) v.play().catch(() => {});
    if (this.sb && !this.sb.updating && v.currentTime - b.start(0) > 2 * KEEP_S) {
      this.sb.remove(0, v.currentTime - KEEP_S);
    }
  }

  watchFrames() {
    const v = this.video;
    const seen = (mediaTime) => {
      const was = this.fresh;
      this.frames += 1;
      this.retries = 0;
      this.lastFrameAt = performance.now();
      this.mediaTime = mediaTime;
      if (!was) this.onState("playing");
      this.draw(mediaTime);
    };
    if (typeof v.requestVideoFrameCallback === "function") {
      if (this.frameCb) return;
      const each = (now, meta) => { seen(meta.mediaTime); this.frameCb = v.requestVideoFrameCallback(each); };
      this.frameCb = v.requestVideoFrameCallback(each);
    } else if (!this.frameCb) {
      this.frameCb = setInterval(() => { if (!v.paused && v.currentTime !== this.mediaTime) seen(v.currentTime); }, 40);
    }
  }

  // the analysis for the frame shown: the newest one at or before its media time
  pick(mediaTime) {
    let best = null;
    for (const a of this.analyses) if (a.t <= mediaTime + 0.02 && (!best || a.t > best.t)) best = a;
    return best;
  }

  draw(mediaTime) {
    const c = this.canvas, v = this.video;
    const a = this.pick(mediaTime);
    const zonesFrom = a || this.analyses[this.analyses.length - 1];
    const boxes = a && mediaTime - a.t <= STALE_S ? a : null;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(c.clientWidth * dpr), h = Math.round(c.clientHeight * dpr);
    const key = `${zonesFrom?.seq}|${boxes?.seq}|${w}x${h}|${v.videoWidth}`;
    this.overlayT = boxes ? boxes.t : -1;
    if (key === this.drawnKey) return;
    this.drawnKey = key;
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, h);
    if (!v.videoWidth || !zonesFrom) return;
    // the picture's box inside the element (object-fit: contain)
    const s = Math.min(w / v.videoWidth, h / v.videoHeight);
    const pw = v.videoWidth * s, ph = v.videoHeight * s, ox = (w - pw) / 2, oy = (h - ph) / 2;
    const X = (x) => ox + x * pw, Y = (y) => oy + y * ph;
    const font = Math.max(12 * dpr, Math.min(20 * dpr, pw / 28));
    g.font = `600 ${font}px system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif`;
    g.lineWidth = Math.max(1.5, font / 7);
    for (const z of zonesFrom.zones) {
      g.strokeStyle = ZONE;
      g.beginPath();
      z.polygon.forEach(([x, y], i) => (i ? g.lineTo(X(x), Y(y)) : g.moveTo(X(x), Y(y))));
      g.closePath();
      g.stroke();
      const top = z.polygon.reduce((p, q) => (q[1] < p[1] ? q : p));
      this.tag(g, z.name.replace(/_/g, " "), X(top[0]), Y(top[1]), ZONE, "#000", font);
    }
    for (const b of boxes ? boxes.boxes : []) {
      const [x1, y1, x2, y2] = b.box, col = colour(b.class_name);
      g.strokeStyle = col;
      g.strokeRect(X(x1), Y(y1), X(x2) - X(x1), Y(y2) - Y(y1));
      this.tag(g, `${label(b.class_name)} ${Math.round(b.confidence * 100)}%`, X(x1), Y(y1), col, "#000", font);
    }
    (boxes ? boxes.active_rules : []).forEach((r, i) =>
      this.tag(g, "! " + rule(r), ox + 4, oy + 4 + (i + 1) * (font + 8), RULE, "#fff", font));
  }

  // a filled label whose bottom-left corner is at (x, y), kept inside the canvas
  tag(g, text, x, y, bg, fg, font) {
    const pad = Math.round(font / 4), tw = g.measureText(text).width + 2 * pad, th = font + 2 * pad;
    const lx = Math.min(Math.max(0, x), g.canvas.width - tw), ly = Math.max(0, y - th);
    g.fillStyle = bg;
    g.fillRect(lx, ly, tw, th);
    g.fillStyle = fg;
    g.textBaseline = "top";
    g.fillText(text, lx + pad, ly + pad);
  }
}
