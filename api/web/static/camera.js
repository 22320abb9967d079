// One camera full screen: the camera's own video at its frame rate with the analysis drawn over it (livevideo.js),
// falling back to the annotated MJPEG of analysed frames where the browser cannot play it or while no video comes;
// and its recent alerts. Built once; live events update the state, the alert flash and the alert list in place, so
// the video connection is never torn down.
import { api, el, t, onLive, params, fmtTime, rule, state, badge, toast, camError } from "./common.js";
import { timeline } from "./timeline.js";
import { LivePlayer } from "./livevideo.js";

const main = document.getElementById("main");
const id = params.camera_id;
const view = {};

function alertRow(a) {
  return el("li", {}, el("a", { class: "alert-row", href: `/alerts/${a.id}`, dataset: { alert: a.id } },
    el("img", { src: `/api/alerts/${a.id}/thumbnail.jpg`, alt: "", loading: "lazy" }),
    el("div", {}, el("strong", {}, rule(a.rule)), el("div", { class: "muted" }, fmtTime(a.started_at)),
       badge("st-" + a.state, state(a.state)), a.ongoing ? badge("ongoing", t("alert.ongoing")) : null,
       a.missed ? badge("missed", t("missed.badge")) : null)));
}

function build(cam) {
  view.video = el("video", { id: "live-video", muted: true, playsinline: true, "aria-label": cam.name });
  view.overlay = el("canvas", { class: "overlay", "aria-hidden": "true" });
  view.mjpeg = el("img", { id: "live", alt: cam.name });  // analysed frames: the fallback
  view.mode = el("p", { class: "muted", id: "live-mode" });
  view.offline = el("div", { class: "offline" }, el("strong", {}), el("span", {}));
  view.badge = badge("", "", "state");
  view.error = el("p", { class: "error", id: "last-error" });
  view.alerts = el("div", { id: "alerts" });
  view.root = el("div", { class: "camera-full" },
    el("div", { class: "frame big" }, view.mjpeg, view.video, view.overlay, view.offline, el("div", { class: "flash-label" }, t("wall.alert"))),
    el("aside", {},
      el("h2", {}, cam.name), el("p", { class: "muted" }, cam.site_name),
      view.badge, view.mode, view.error,
      el("p", {}, el("a", { href: "/wall" }, "← " + t("nav.wall"))),
      document.body.dataset.role === "admin"
        ? el("p", {}, el("a", { id: "edit-zones", href: `/wall/${encodeURIComponent(id)}/zones` }, t("camera.zones"))) : null,
      markForm(cam),
      el("h3", {}, t("camera.recent")), view.alerts));
  main.replaceChildren(view.root, timeline(cam));
  view.player = new LivePlayer(id, view.video, view.overlay, { onState: showMode });
  view.since = performance.now();
  document.addEventListener("visibilitychange", showMode);
  setInterval(showMode, 500);
  showMode();
}

// video while it plays; the MJPEG of analysed frames while it does not (and always where it cannot play here)
function showMode() {
  const p = view.player;
  if (document.visibilityState === "visible") p.start(); else p.stop();
  const waited = performance.now() - view.since > 3000;  // the video's first frame usually comes within a second
  const mode = p.fresh ? "video" : p.unsupported || waited ? "frames" : "waiting";
  view.root.dataset.frames = p.frames;
  view.root.dataset.overlayT = p.overlayT;
  view.root.dataset.mediaTime = p.mediaTime;
  if (view.root.dataset.mode === mode) return;
  view.root.dataset.mode = mode;
  view.mode.textContent = mode === "waiting" ? "" :
    t(mode === "video" ? "live.video" : p.unsupported ? "live.unsupported" : "live.frames");
  if (mode !== "frames") view.mjpeg.removeAttribute("src");  // one connection for the picture, not two
  else view.mjpeg.src = `/api/cameras/${encodeURIComponent(id)}/live.mjpg?fps=5&lang=${document.documentElement.lang}`;
}

// "Violation here": what the model missed on the picture shown now becomes an alert for review
function markForm(cam) {
  const role = document.body.dataset.role;
  if (!["operator", "reviewer", "admin"].includes(role)) return null;
  const pick = el("select", { id: "missed-rule", "aria-label": t("field.rule") },
    cam.rules.map((r) => el("option", { value: r }, rule(r))));
  const note = el("input", { id: "missed-note", type: "text", maxlength: 2000, placeholder: t("missed.note") });
  const go = el("button", { id: "mark-missed", class: "bad", onclick: async () => {
    go.disabled = true;
    try {
      const a = await api(`/api/cameras/${encodeURIComponent(id)}/missed`, { method: "POST",
                                                                          body: { rule: pick.value, note: note.value } });
      note.value = "";
      toast(t("missed.done"));
      document.body.dataset.marked = a.id;
      refresh();
    } finally { go.disabled = false; }
  } }, t("missed.mark"));
  return el("div", { class: "mark-missed card" }, el("h3", {}, t("missed.title")),
            el("p", { class: "muted hint" }, t("missed.hint")), pick, note, go);
}

function showState(s, error) {
  const down = !["live", "stalled"].includes(s);
  view.root.dataset.state = s;
  view.root.classList.toggle("down", down);
  view.badge.className = `badge state state-${s}`;
  view.badge.textContent = t("cam." + s);
  error = camError(error);
  view.error.textContent = error;
  view.error.hidden = !error;
  view.offline.firstChild.textContent = t("cam." + s);
  view.offline.lastChild.textContent = error;
}

function showAlerts(cam) {
  view.root.classList.toggle("alerting", !!cam.alerting);
  view.alerts.replaceChildren(cam.alerts.length ? el("ul", { class: "alert-list" }, cam.alerts.map(alertRow))
                                                : el("p", { class: "empty" }, t("camera.noalerts")));
}

async function refresh() {
  const cam = await api(`/api/cameras/${encodeURIComponent(id)}`);
  if (!view.root) build(cam);
  showState(cam.state, cam.last_error);
  showAlerts(cam);
}

refresh();
onLive("alert.new", (a) => a.camera_id === id && refresh());
onLive("alert.updated", (a) => a.camera_id === id && refresh());
onLive("camera.state", (s) => s.camera_id === id && view.root && showState(s.state, s.last_error));
