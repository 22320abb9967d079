// Small inline-SVG charts: line curves (training metrics) and stacked bars (alerts per day).
import { svg, fmtDay, state } from "./common.js";

const COLOURS = ["#2f6fdb", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#1098ad"];

export function lineChart(series, { width = 520, height = 200, yMax = null, label = "" } = {}) {
  // series: [{name, points: [[x, y], ...]}]
  const pad = { l: 40, r: 110, t: 14, b: 24 };
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p[0])), xMin = Math.min(0, ...all.map((p) => p[0]));
  const top = yMax ?? Math.max(1e-6, ...all.map((p) => p[1]));
  const X = (x) => pad.l + ((x - xMin) / (xMax - xMin || 1)) * (width - pad.l - pad.r);
  const Y = (y) => height - pad.b - (y / top) * (height - pad.t - pad.b);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label });
  for (const f of [0, 0.5, 1]) {
    root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: Y(top * f), y2: Y(top * f), class: "grid" }),
                svg("text", { x: pad.l - 4, y: Y(top * f) + 4, "text-anchor": "end", class: "tick" }, (top * f).toPrecision(2)));
  }
  root.append(svg("text", { x: width - pad.r, y: height - 6, "text-anchor": "end", class: "tick" }, `epoch ${xMax}`));
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    if (!s.points.length) return;
    root.append(svg("polyline", { points: s.points.map(([x, y]) => `${X(x)},${Y(y)}`).join(" "), fill: "none",
                                  stroke: c, "stroke-width": 2 }),
                svg("text", { x: width - pad.r + 6, y: pad.t + 14 * i + 8, fill: c, class: "legend" }, s.name));
  });
  return root;
}

export function barChart(days, keys, colours, { width = 720, height = 160 } = {}) {
  const pad = { l: 28, r: 8, t: 10, b: 22 };
  const top = Math.max(1, ...days.map((d) => keys.reduce((n, k) => n + (d[k] || 0), 0)));
  const bw = (width - pad.l - pad.r) / Math.max(1, days.length);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart" });
  root.append(svg("text", { x: pad.l - 4, y: pad.t + 8, "text-anchor": "end", class: "tick" }, top),
              svg("line", { x1: pad.l, x2: width - pad.r, y1: height - pad.b, y2: height - pad.b, class: "grid" }));
  days.forEach((d, i) => {
    let y = height - pad.b;
    keys.forEach((k, j) => {
      const h = ((d[k] || 0) / top) * (height - pad.t - pad.b);
      if (h > 0) root.append(svg("rect", { x: pad.l + i * bw + 1, y: y - h, width: Math.max(1, bw - 2), height: h,
                                           fill: colours[j] }, svg("title", {}, `${fmtDay(d.day)} ${state(k)}: ${d[k]}`)));
      y -= h;
    });
    if (i % 7 === 0) root.append(svg("text", { x: pad.l + i * bw, y: height - 6, class: "tick" }, fmtDay(d.day)));
  });
  return root;
}
