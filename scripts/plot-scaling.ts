// Draws how the real-time core's cost grows with the number of merging units, from the JSON that
// scripts/bench-realtime.ts prints: arrival→verdict p50/p99/max (µs, log scale) and CPU per frame of the
// real-time and capture threads (ns), against MUs (log scale). Plain SVG, no dependency.
//
//   node scripts/bench-realtime.ts > rt.json && node scripts/plot-scaling.ts rt.json docs/performance-scaling.svg
import { readFileSync, writeFileSync } from 'node:fs';

interface Step {
  mus: number;
  lost: number;
  verdictLatencyUs: { p50: number | null; p99: number | null; max: number | null };
  cpuNsPerFrame: { realtimeThread: number; captureThread: number };
}

const [input, output] = process.argv.slice(2);
if (input === undefined || output === undefined) {
  process.stderr.write('usage: node scripts/plot-scaling.ts BENCH.json OUT.svg\n');
  process.exit(2);
}
const steps = (JSON.parse(readFileSync(input, 'utf8')) as { results: Step[] }).results;

const W = 420;
const H = 260;
const M = { l: 60, r: 16, t: 28, b: 40 };
const log = (v: number): number => Math.log10(Math.max(v, 1e-9));

function panel(
  x0: number,
  title: string,
  yLabel: string,
  series: Array<{ name: string; colour: string; v: (s: Step) => number | null }>,
  logY: boolean,
): string {
  const xs = steps.map((s) => log(s.mus));
  const vals = series.flatMap((se) => steps.map(se.v)).filter((v): v is number => v !== null && v > 0);
  const xmin = Math.min(...xs) - 0.1;
  const xmax = Math.max(...xs) + 0.1;
  const f = logY ? log : (v: number) => v;
  const ymin = logY ? Math.floor(log(Math.min(...vals))) : 0;
  const ymax = logY ? Math.ceil(log(Math.max(...vals))) : Math.max(...vals) * 1.1;
  const px = (x: number): number => x0 + M.l + ((x - xmin) / (xmax - xmin)) * (W - M.l - M.r);
  const py = (y: number): number => M.t + (1 - (f(y) - ymin) / (ymax - ymin || 1)) * (H - M.t - M.b);
  let out = `<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-weight="bold">${title}</text>`;
  out += `<line x1="${x0 + M.l}" y1="${H - M.b}" x2="${x0 + W - M.r}" y2="${H - M.b}" stroke="#444"/><line x1="${x0 + M.l}" y1="${M.t}" x2="${x0 + M.l}" y2="${H - M.b}" stroke="#444"/>`;
  for (const s of steps) out += `<text x="${px(log(s.mus))}" y="${H - M.b + 16}" text-anchor="middle">${s.mus}</text>`;
  out += `<text x="${x0 + W / 2}" y="${H - 6}" text-anchor="middle">merging units (4800 frames/s each)</text>`;
  const ticks = logY ? Array.from({ length: ymax - ymin + 1 }, (_, k) => 10 ** (ymin + k)) : [0, ymax / 2, ymax].map((v) => Math.round(v));
  for (const t of ticks)
    out += `<text x="${x0 + M.l - 4}" y="${py(t) + 4}" text-anchor="end">${t}</text><line x1="${x0 + M.l}" y1="${py(t)}" x2="${x0 + W - M.r}" y2="${py(t)}" stroke="#ddd"/>`;
  out += `<text transform="translate(${x0 + 14} ${H / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`;
  series.forEach((se, k) => {
    const pts = steps
      .map((s) => [s, se.v(s)] as const)
      .filter(([, v]) => v !== null && v > 0)
      .map(([s, v]) => `${px(log(s.mus)).toFixed(1)},${py(v!).toFixed(1)}`);
    out += `<polyline fill="none" stroke="${se.colour}" stroke-width="2" points="${pts.join(' ')}"/>`;
    for (const p of pts) {
      const [x, y] = p.split(',');
      out += `<circle cx="${x}" cy="${y}" r="3" fill="${se.colour}"/>`;
    }
    out += `<text x="${x0 + M.l + 8}" y="${M.t + 14 + 14 * k}" fill="${se.colour}">${se.name}</text>`;
  });
  return out;
}

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${panel(
  0,
  'arrival → verdict, every frame',
  'µs (log)',
  [
    { name: 'p50', colour: '#1b9e77', v: (s) => s.verdictLatencyUs.p50 },
    { name: 'p99', colour: '#d95f02', v: (s) => s.verdictLatencyUs.p99 },
    { name: 'max', colour: '#7570b3', v: (s) => s.verdictLatencyUs.max },
  ],
  true,
)}
${panel(
  W,
  'CPU per frame',
  'ns',
  [
    { name: 'real-time thread (JS)', colour: '#e7298a', v: (s) => s.cpuNsPerFrame.realtimeThread },
    { name: 'capture thread (C++)', colour: '#66a61e', v: (s) => s.cpuNsPerFrame.captureThread },
  ],
  false,
)}
</svg>
`;
writeFileSync(output, svg);
process.stdout.write(`wrote ${output}\n`);
