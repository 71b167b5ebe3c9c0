// A canvas line chart of writes per second over the last two minutes. Colors come from the
// theme's CSS variables, so it is redrawn when the theme changes.
const WINDOW_MS = 120000;

export class RateChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.samples = [];
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  update(samples) {
    this.samples = samples;
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const rect = canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(rect.width * dpr);
    canvas.height = Math.round(rect.height * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const css = getComputedStyle(document.documentElement);
    const color = (name) => resolveColor(name);
    const W = rect.width, H = rect.height, left = 40, right = 8, top = 10, bottom = 22;
    const plotW = W - left - right, plotH = H - top - bottom;
    ctx.clearRect(0, 0, W, H);

    const now = this.samples.length ? Math.max(Date.now(), this.samples.at(-1).time) : Date.now();
    const visible = this.samples.filter((s) => s.time >= now - WINDOW_MS);
    const peak = Math.max(0, ...visible.map((s) => s.writes_per_sec));
    // Four gridlines at round values: the top is four nice steps.
    const max = 4 * niceStep(Math.max(4, peak * 1.15) / 4);

    ctx.font = `11px ${css.getPropertyValue("--font")}`;
    ctx.fillStyle = color("--text-muted");
    ctx.strokeStyle = color("--border");
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const y = top + plotH - (plotH * i) / 4;
      ctx.beginPath(); ctx.moveTo(left, Math.round(y) + 0.5); ctx.lineTo(W - right, Math.round(y) + 0.5); ctx.stroke();
      ctx.fillText(formatTick((max * i) / 4), left - 6, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const s of [120, 90, 60, 30, 0]) {
      const x = left + plotW * (1 - (s * 1000) / WINDOW_MS);
      ctx.fillText(s === 0 ? "now" : `-${s}s`, Math.min(Math.max(x, left + 12), W - right - 12), top + plotH + 6);
    }
    if (visible.length < 2) return;

    const xOf = (t) => left + plotW * (1 - (now - t) / WINDOW_MS);
    const yOf = (v) => top + plotH - (plotH * v) / max;
    const accent = color("--accent");
    const gradient = ctx.createLinearGradient(0, top, 0, top + plotH);
    gradient.addColorStop(0, withAlpha(accent, 0.35));
    gradient.addColorStop(1, withAlpha(accent, 0.02));
    ctx.beginPath();
    visible.forEach((s, i) => (i ? ctx.lineTo(xOf(s.time), yOf(s.writes_per_sec)) : ctx.moveTo(xOf(s.time), yOf(s.writes_per_sec))));
    ctx.lineTo(xOf(visible.at(-1).time), top + plotH);
    ctx.lineTo(xOf(visible[0].time), top + plotH);
    ctx.closePath();
    ctx.fillStyle = gradient;
    ctx.fill();
    ctx.beginPath();
    visible.forEach((s, i) => (i ? ctx.lineTo(xOf(s.time), yOf(s.writes_per_sec)) : ctx.moveTo(xOf(s.time), yOf(s.writes_per_sec))));
    ctx.strokeStyle = accent;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    ctx.stroke();
    const last = visible.at(-1);
    ctx.beginPath();
    ctx.arc(xOf(last.time), yOf(last.writes_per_sec), 3.5, 0, Math.PI * 2);
    ctx.fillStyle = accent;
    ctx.fill();
  }
}

/** The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least v. */
function niceStep(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function formatTick(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(v % 1000 ? 1 : 0)}k` : Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A theme color as rgb(): custom properties hold unresolved light-dark() pairs, so the
 *  value is resolved by letting the browser apply it to a probe element. */
let probe = null;
function resolveColor(name) {
  if (!probe) {
    probe = document.createElement("span");
    probe.hidden = true;
    document.body.append(probe);
  }
  probe.style.color = `var(${name})`;
  return getComputedStyle(probe).color;
}

/** Accepts rgb(r, g, b) and returns the same color with `alpha`. */
function withAlpha(rgb, alpha) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(rgb);
  return m ? `rgba(${m[1]}, ${m[2]}, ${m[3]}, ${alpha})` : rgb;
}
