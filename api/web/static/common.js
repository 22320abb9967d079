// Shared helpers for every page: messages, the JSON API with CSRF, DOM building, live events, header controls.
const catalogue = JSON.parse(document.getElementById("i18n").textContent);
export const params = JSON.parse(document.getElementById("params")?.textContent || "{}");

export function t(key, vars = {}) {
  let s = catalogue[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(v);
  return s;
}

function cookie(name) {
  const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
  return m ? decodeURIComponent(m[1]) : "";
}

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = cookie("vigil_csrf");
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                  credentials: "same-origin" });
  if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("401"); }
  if (!res.ok) {
    let detail = res.statusText;
    try { const j = await res.json(); detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch (e) {}
    toast(detail, true);
    throw new Error(detail);
  }
  return raw ? res : res.json();
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false)
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

export const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children.flat()) if (c) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// One date format per language, everywhere: "3 Dec 2026, 15:52:05" / "2026年12月3日 15:52:05" (local time).
const LOCALE = document.documentElement.lang === "zh" ? "zh-CN" : "en-GB";
const TIME_FORMAT = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const DATE_FORMAT = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric" });
export function fmtTime(iso) {
  return iso ? TIME_FORMAT.format(new Date(iso)) : "—";
}
export function fmtDate(iso) {
  return iso ? DATE_FORMAT.format(new Date(iso)) : "—";
}
// a calendar day ("2026-11-05", no time zone) on a chart's axis: "5 Nov" / "11月5日"
const DAY_FORMAT = new Intl.DateTimeFormat(LOCALE, { month: "short", day: "numeric", timeZone: "UTC" });
export function fmtDay(day) {
  return day ? DAY_FORMAT.format(new Date(day + "T00:00:00Z")) : "—";
}

// A count with its noun: "1 camera", "3 cameras" ("{key}.one" for exactly one when the language has it).
export function tn(key, n, vars = {}) {
  const k = n === 1 && catalogue[key + ".one"] !== undefined ? key + ".one" : key;
  return t(k, { n, ...vars });
}

export const rule = (r) => t("rule." + r);
// a site grade's reasons in the page's language (the API's English sentences when it sends no data)
export function gradeReasons(s) {
  if (!s.reason_items) return s.reasons;
  const out = s.reason_items.map((x) => tn("grade.reason", x.count, { rule: rule(x.rule), weight: x.weight, days: x.window_days }));
  if (s.cases_filed) out.push(tn("grade.cases", s.cases_filed, { weight: s.cases_weight }));
  return out;
}
export const state = (s) => t("state." + s);
// a camera's last error: the server's own known messages in the page's language; a stream's error stays as it came
const CAMERA_ERRORS = { "camera service not running": "cam.error.no_service" };
export function camError(text) {
  return text && CAMERA_ERRORS[text] ? t(CAMERA_ERRORS[text]) : text || "";
}
// a lead's title in the page's language: the server names a new lead "<site>: violations"
export function leadTitle(title) {
  const m = /^(.*): violations$/s.exec(title || "");
  return m ? t("lead.title.violations", { site: m[1] }) : title || "";
}

export function toast(message, bad = false) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = bad ? "show bad" : "show";
  clearTimeout(box._timer);
  box._timer = setTimeout(() => (box.className = ""), 4000);
}

// one EventSource per page; handlers by event kind
const handlers = {};
let source = null;
export function onLive(kind, fn) {
  (handlers[kind] ||= []).push(fn);
  connectLive();
}
// every page holds the live connection, so the header's dot says whether live updates arrive (lead pages too)
function connectLive() {
  if (source || !document.body.dataset.user) return;
  source = new EventSource("/api/events");
  const dot = document.getElementById("live-dot");
  source.onopen = () => dot && dot.classList.add("on");
  source.onerror = () => dot && dot.classList.remove("on");
  for (const k of ["alert.new", "alert.updated", "camera.state", "lead.updated", "job.progress"])
    source.addEventListener(k, (ev) => (handlers[k] || []).forEach((f) => f(JSON.parse(ev.data))));
}

function setupHeader() {
  const lang = document.getElementById("lang");
  lang?.addEventListener("change", async () => {
    document.cookie = `vigil_lang=${lang.value}; path=/; max-age=31536000; samesite=lax`;
    if (document.body.dataset.user) await api("/api/auth/me", { method: "PATCH", body: { language: lang.value } }).catch(() => {});
    location.reload();
  });
  document.getElementById("logout")?.addEventListener("click", async () => {
    await api("/api/auth/logout", { method: "POST" });
    location.href = "/login";
  });
}
setupHeader();
connectLive();

// the service's own troubles (outbox filling or waiting, a disk under its watermark, cameras in error, a lost
// instance lock): a bar under the header on every page, checked every 30 s; roles that may not read them see none
const HEALTH_EVERY_MS = 30000;
const PROBLEM_WORDS = { disk: "health.disk.", state: "cam." };  // parameters the catalogue words too

// a problem in the page's language from its code and parameters (api/problems.py picks the message the same way);
// the server's English text when the catalogue has no message for the code
function problemText(p) {
  const vars = {};
  for (const [k, v] of Object.entries(p.params || {})) {
    const word = PROBLEM_WORDS[k] && PROBLEM_WORDS[k] + v;
    vars[k] = word && word in catalogue ? catalogue[word] : v;
  }
  const key = `health.problem.${p.code}`;
  if (p.params?.error && `${key}.error` in catalogue) return t(`${key}.error`, vars);
  return key in catalogue ? t(key, vars) : p.text;
}

async function watchHealth() {
  const bar = document.getElementById("health-bar");
  // data staff may not read the service's state (the route allows the wall roles): no bar, and no refusal toast
  if (!bar || !document.body.dataset.user || document.body.dataset.role === "data_staff") return;
  const check = async () => {
    let problems;
    try {
      problems = (await api("/api/system/reliability")).problem_details || [];
    } catch {
      return;
    }
    // the wall already shows each camera's state on its tile; there the bar keeps to the service's own troubles
    if (document.body.dataset.page === "wall") problems = problems.filter((p) => p.code !== "camera");
    bar.hidden = problems.length === 0;
    bar.replaceChildren(el("strong", {}, t("health.problems")), " ", problems.map(problemText).join(" · "));
  };
  await check();
  setInterval(check, HEALTH_EVERY_MS);
}
watchHealth();

// the header's inbox badge: my unread notifications, refreshed when a lead changes and every minute
export async function refreshInbox() {
  const count = document.getElementById("inbox-count");
  if (!count) return;
  const n = (await fetch("/api/inbox/unread", { credentials: "same-origin" }).then((r) => r.ok ? r.json() : {})).unread || 0;
  count.hidden = n === 0;
  count.textContent = n;
  count.title = t("inbox.badge", { n });
}
if (document.getElementById("inbox-count")) {
  refreshInbox();
  onLive("lead.updated", refreshInbox);
  setInterval(refreshInbox, 60000);
}

export function badge(kind, text, extra = "") {
  return el("span", { class: `badge ${kind} ${extra}` }, text);
}

export function pager(total, limit, offset, go) {
  const pages = Math.max(1, Math.ceil(total / limit)), page = Math.floor(offset / limit) + 1;
  return el("div", { class: "pager" },
    el("button", { class: "ghost", disabled: page <= 1, onclick: () => go(offset - limit) }, "‹"),
    el("span", {}, t("pager", { page, pages, total })),
    el("button", { class: "ghost", disabled: page >= pages, onclick: () => go(offset + limit) }, "›"));
}

// A raw file as the request body (photos, video); query parameters carry what is said about it.
export async function upload(path, file) {
  const res = await fetch(path, { method: "POST", body: file, credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRF-Token": cookie("vigil_csrf"),
               "Content-Type": file.type || "application/octet-stream" } });
  if (!res.ok) {
    let detail = res.statusText;
    try { const j = await res.json(); detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail); } catch (e) {}
    toast(detail, true);
    throw new Error(detail);
  }
  return res.json();
}
