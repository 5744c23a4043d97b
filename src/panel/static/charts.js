// Waveform and phasor diagram of one stream on canvases (WaveformView of the API). Channels are grouped
// by unit (currents and voltages differ by orders of magnitude), each group on its own scale.

export const COLOURS = ['#ff6b6b', '#ffd43b', '#4dabf7', '#adb5bd', '#ff8787', '#ffe066', '#74c0fc', '#dee2e6'];

/** Colour index of a channel: by phase letter when the name has one (A/B/C/N), else by position. */
export function colourIndex(name, i) {
  const m = /([ABCN])$/i.exec(name) ?? /(?:^|[^A-Za-z])([ABCN])(?:[^A-Za-z]|$)/i.exec(name);
  if (m) {
    const base = 'ABCN'.indexOf(m[1].toUpperCase());
    return /^v|^u/i.test(name) ? base + 4 : base;
  }
  return i % COLOURS.length;
}

/** Sizes the canvas backing store to its CSS size (sharp on any pixel ratio); returns the 2D context. */
function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  return ctx;
}

function groups(channels) {
  const by = new Map();
  channels.forEach((c, i) => {
    const g = by.get(c.unit) ?? [];
    g.push({ ...c, colour: COLOURS[colourIndex(c.name, i)] });
    by.set(c.unit, g);
  });
  return [...by.entries()];
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return a >= 10 ? v.toFixed(0) : v.toFixed(1);
}

/** @param {HTMLCanvasElement} canvas @param {any} view WaveformView or null */
export function drawWaveform(canvas, view) {
  const ctx = prepare(canvas);
  const W = canvas.clientWidth;
  const H = canvas.clientHeight;
  ctx.font = '15px "DejaVu Sans", sans-serif';
  if (!view || view.channels.length === 0 || view.channels.every((c) => c.samples.length === 0)) {
    ctx.fillStyle = '#8b949e';
    ctx.fillText('No samples from this stream yet.', 16, 28);
    return;
  }
  const gs = groups(view.channels);
  const bandH = H / gs.length;
  const left = 58;
  gs.forEach(([unit, chans], gi) => {
    const top = gi * bandH + 8;
    const h = bandH - 16;
    const mid = top + h / 2;
    let peak = 0;
    for (const c of chans) for (const s of c.samples) peak = Math.max(peak, Math.abs(s));
    const max = niceMax(peak);
    // Axes and scale.
    ctx.strokeStyle = '#30363d';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, mid);
    ctx.lineTo(W - 8, mid);
    ctx.moveTo(left, top);
    ctx.lineTo(left, top + h);
    ctx.stroke();
    ctx.fillStyle = '#8b949e';
    ctx.textAlign = 'right';
    ctx.fillText(`${fmt(max)} ${unit}`, left - 6, top + 12);
    ctx.fillText(`-${fmt(max)}`, left - 6, top + h);
    ctx.textAlign = 'left';
    ctx.lineWidth = 2;
    for (const c of chans) {
      const n = c.samples.length;
      if (n < 2) continue;
      ctx.strokeStyle = c.colour;
      ctx.beginPath();
      for (let k = 0; k < n; k++) {
        const x = left + ((W - 8 - left) * k) / (n - 1);
        const y = mid - (c.samples[k] / max) * (h / 2);
        if (k === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
    // Legend.
    let x = left + 8;
    for (const c of chans) {
      ctx.fillStyle = c.colour;
      ctx.fillRect(x, top + 2, 12, 12);
      ctx.fillStyle = '#e6edf3';
      ctx.fillText(c.name, x + 16, top + 13);
      x += ctx.measureText(c.name).width + 34;
    }
  });
}

/** @param {HTMLCanvasElement} canvas @param {any} view WaveformView or null */
export function drawPhasors(canvas, view) {
  const ctx = prepare(canvas);
  const W = canvas.clientWidth;
  const H = canvas.clientHeight;
  const cx = W / 2;
  const cy = H / 2;
  const R = Math.min(W, H) / 2 - 14;
  ctx.strokeStyle = '#30363d';
  ctx.lineWidth = 1;
  for (const f of [1, 0.5]) {
    ctx.beginPath();
    ctx.arc(cx, cy, R * f, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.moveTo(cx - R, cy);
  ctx.lineTo(cx + R, cy);
  ctx.moveTo(cx, cy - R);
  ctx.lineTo(cx, cy + R);
  ctx.stroke();
  if (!view || view.phasors.length === 0) {
    ctx.fillStyle = '#8b949e';
    ctx.font = '14px "DejaVu Sans", sans-serif';
    ctx.textAlign = 'center';
    ctx.fillText('no phasors yet', cx, cy - 8);
    return;
  }
  // Each unit on its own scale: the largest phasor of a unit reaches the circle (voltages) or 0.75 of it.
  const maxBy = new Map();
  for (const p of view.phasors) maxBy.set(p.unit, Math.max(maxBy.get(p.unit) ?? 0, p.magnitude));
  const units = [...maxBy.keys()];
  view.phasors.forEach((p, i) => {
    const reach = units.indexOf(p.unit) === 0 ? 1 : 0.75;
    const r = ((maxBy.get(p.unit) > 0 ? p.magnitude / maxBy.get(p.unit) : 0) * R * reach);
    const a = (p.angleDeg * Math.PI) / 180;
    const x = cx + r * Math.cos(a);
    const y = cy - r * Math.sin(a);
    ctx.strokeStyle = COLOURS[colourIndex(p.channel, i)];
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = 3;
    // The second unit (voltages after currents, or the reverse) dashed, so equal colours stay apart.
    ctx.setLineDash(units.indexOf(p.unit) === 0 ? [] : [7, 4]);
    ctx.beginPath();
    ctx.moveTo(cx, cy);
    ctx.lineTo(x, y);
    ctx.stroke();
    ctx.setLineDash([]);
    // Arrow head.
    const hl = 10;
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x - hl * Math.cos(a - 0.4), y + hl * Math.sin(a - 0.4));
    ctx.lineTo(x - hl * Math.cos(a + 0.4), y + hl * Math.sin(a + 0.4));
    ctx.closePath();
    ctx.fill();
  });
}
