// One camera full screen: the live view and its recent alerts.
import { api, el, t, onLive, params, fmtTime, rule, state, badge } from "./common.js";

const main = document.getElementById("main");
const id = params.camera_id;

function alertRow(a) {
  return el("li", { class: "alert-row" },
    el("img", { src: `/api/alerts/${a.id}/evidence/best_annotated.jpg`, alt: "", loading: "lazy" }),
    el("div", {}, el("strong", {}, rule(a.rule)), el("div", { class: "muted" }, fmtTime(a.started_at)),
       badge("st-" + a.state, state(a.state)), a.ongoing ? badge("ongoing", t("alert.ongoing")) : null));
}

async function render() {
  const cam = await api(`/api/cameras/${encodeURIComponent(id)}`);
  main.replaceChildren(
    el("div", { class: "camera-full" + (cam.alerting ? " alerting" : "") },
      el("div", { class: "frame big" },
        el("img", { src: `/api/cameras/${encodeURIComponent(id)}/live.mjpg?fps=5`, alt: cam.name }),
        el("div", { class: "flash-label" }, t("wall.alert"))),
      el("aside", {},
        el("h2", {}, cam.name), el("p", { class: "muted" }, cam.site_name),
        badge("state-" + cam.state, t("cam." + cam.state), "state"),
        cam.last_error ? el("p", { class: "error" }, cam.last_error) : null,
        el("p", {}, el("a", { href: "/wall" }, "← " + t("nav.wall"))),
        el("h3", {}, t("camera.recent")),
        cam.alerts.length ? el("ul", { class: "alert-list" }, cam.alerts.map(alertRow))
                          : el("p", { class: "empty" }, t("camera.noalerts")))));
}
render();
onLive("alert.new", (a) => a.camera_id === id && render());
onLive("alert.updated", (a) => a.camera_id === id && render());
onLive("camera.state", (s) => s.camera_id === id && render());
