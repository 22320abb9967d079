// The camera wall: one live MJPEG tile per camera with site, state and an alert flash; click for full screen.
import { api, el, t, onLive, badge } from "./common.js";

const main = document.getElementById("main");
const tiles = new Map();

function stateText(cam) {
  return t("cam." + cam.state) + (cam.state !== "live" && cam.last_error ? ` — ${cam.last_error}` : "");
}

function tile(cam) {
  const img = el("img", { src: `/api/cameras/${encodeURIComponent(cam.id)}/live.mjpg?fps=3`, alt: cam.name, loading: "lazy" });
  const state = badge("state-" + cam.state, stateText(cam), "state");
  const node = el("a", { class: "tile", href: `/wall/${encodeURIComponent(cam.id)}`, dataset: { camera: cam.id } },
    el("div", { class: "frame" }, img, el("div", { class: "flash-label" }, t("wall.alert"))),
    el("div", { class: "caption" },
      el("div", { class: "names" }, el("strong", {}, cam.name), el("span", { class: "muted" }, cam.site_name)),
      state));
  tiles.set(cam.id, { node, state, cam });
  update(cam);
  return node;
}

function update(cam) {
  const t0 = tiles.get(cam.id);
  if (!t0) return;
  Object.assign(t0.cam, cam);
  t0.node.classList.toggle("alerting", !!t0.cam.alerting);
  t0.state.className = `badge state state-${t0.cam.state}`;
  t0.state.textContent = stateText(t0.cam);
  t0.state.title = t0.cam.last_error || "";
}

async function refresh() {
  const data = await api("/api/cameras");
  for (const cam of data.items) update(cam);
  return data;
}

async function start() {
  const data = await api("/api/cameras");
  main.append(el("div", { class: "wall", style: `--n:${Math.ceil(Math.sqrt(data.items.length || 1))}` },
                 data.items.map(tile)));
  if (!data.items.length) main.append(el("p", { class: "empty" }, t("wall.none")));
  onLive("camera.state", (s) => update({ id: s.camera_id, state: s.state, last_error: s.last_error || "" }));
  onLive("alert.new", (a) => update({ id: a.camera_id, alerting: true }));
  onLive("alert.updated", () => refresh());
  setInterval(refresh, 10000);
}
start();
