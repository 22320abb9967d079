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

// columns so every tile fits the screen at once (a wall is read at a glance, without scrolling)
function fit(grid, n) {
  const width = grid.clientWidth, height = window.innerHeight - grid.getBoundingClientRect().top - 16;
  let best = 1, bestW = 0;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((width - 13 * (cols - 1)) / cols, ((height - 13 * (rows - 1)) / rows - 56) * 16 / 9);
    if (w > bestW) { best = cols; bestW = w; }
  }
  grid.style.setProperty("--cols", best);
  grid.style.maxWidth = `${best * bestW + 13 * (best - 1) + 8}px`;
}

async function start() {
  const data = await api("/api/cameras");
  const grid = el("div", { class: "wall" }, data.items.map(tile));
  main.append(grid);
  fit(grid, data.items.length || 1);
  window.addEventListener("resize", () => fit(grid, data.items.length || 1));
  if (!data.items.length) main.append(el("p", { class: "empty" }, t("wall.none")));
  onLive("camera.state", (s) => update({ id: s.camera_id, state: s.state, last_error: s.last_error || "" }));
  onLive("alert.new", (a) => update({ id: a.camera_id, alerting: true }));
  onLive("alert.updated", () => refresh());
  setInterval(refresh, 10000);
}
start();
