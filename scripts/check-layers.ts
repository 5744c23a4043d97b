// The import-layer check (run by scripts/test.sh): every folder of src/ imports only folders of a lower
// rank, model imports nothing at all, and src/ never imports tools/. Prints each violation as
// `file:line: imports X (layer a may not import layer b)` and the count of folder-level cycles; exits 1 on
// any violation.
//
//   node scripts/check-layers.ts [ROOT]     (ROOT defaults to the repository; tests pass a fixture tree)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Rank of each folder under src/ (bottom to top). A folder may import folders of a strictly lower rank. */
export const RANKS: Readonly<Record<string, number>> = {
  model: 0,
  native: 1,
  sv: 2,
  crypto: 3,
  scl: 3,
  config: 4,
  detect: 5,
  capture: 6,
  store: 6,
  evidence: 7,
  export: 8,
  led: 9,
  notify: 9,
  api: 9,
  panel: 9,
  realtime: 10,
  app: 11,
  cli: 12,
};

/** Pairs refused whatever the ranks say: evidence and decisions stay apart. */
export const FORBIDDEN: ReadonlyArray<{ from: string; to: string; why: string }> = [
  { from: 'store', to: 'detect', why: 'the store keeps what detection decided; it never runs detection' },
];

/** Imports allowed against the ranks, each with its reason. `from` and `to` are folder names. */
export const EXCEPTIONS: ReadonlyArray<{ from: string; to: string; file?: string; why: string }> = [
  { from: 'panel', to: 'api', why: "the panel is a Fastify plugin the API registers; it uses the API's plugin types" },
  {
    from: 'cli',
    to: 'tools',
    file: 'src/cli/run.ts',
    why: 'svde run without a configuration hands over to the demo entry when tools/ is present (one marked dynamic import)',
  },
];

export interface Violation {
  file: string;
  line: number;
  spec: string;
  from: string;
  to: string;
}

const SPEC = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g;

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|js)$/.test(name)) out.push(p);
  }
}

/** Layer of a path relative to the root: `src/<folder>`, `tools`, or null (tests, scripts, other). */
function layerOf(rel: string): string | null {
  const parts = rel.split(path.sep);
  if (parts[0] === 'tools') return 'tools';
  if (parts[0] === 'src' && parts.length > 2) return parts[1]!;
  return null;
}

export function check(root: string): { violations: Violation[]; cycles: string[][]; files: number } {
  const files: string[] = [];
  walk(path.join(root, 'src'), files);
  const violations: Violation[] = [];
  const edges = new Map<string, Set<string>>();
  for (const file of files) {
    const rel = path.relative(root, file);
    const from = layerOf(rel);
    if (from === null) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, k) => {
      if (/^\s*(\/\/|\*)/.test(text)) return;
      // The model depends on nothing: not on a package, not on a Node built-in.
      if (from === 'model') {
        for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(['"])([^.'"][^'"]*)\1/g))
          violations.push({ file: rel, line: k + 1, spec: m[2]!, from, to: m[2]! });
      }
      for (const m of text.matchAll(SPEC)) {
        const target = path.relative(root, path.resolve(path.dirname(file), m[2]!));
        const to = layerOf(target);
        if (to === null || to === from) continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
        const excused = EXCEPTIONS.some((e) => e.from === from && e.to === to && (e.file === undefined || e.file === rel));
        const forbidden = FORBIDDEN.some((f) => f.from === from && f.to === to);
        const ok = from === 'model' || to === 'tools' || forbidden ? false : (RANKS[to] ?? Infinity) < (RANKS[from] ?? -Infinity);
        if (!ok && !excused) violations.push({ file: rel, line: k + 1, spec: m[2]!, from, to });
      }
    });
  }
  const cycles: string[][] = [];
  for (const [a, outs] of edges) for (const b of outs) if (a < b && edges.get(b)?.has(a)) cycles.push([a, b]);
  return { violations, cycles, files: files.length };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const { violations, cycles, files } = check(root);
  for (const v of violations) {
    const f = FORBIDDEN.find((x) => x.from === v.from && x.to === v.to);
    const why =
      v.from === 'model'
        ? 'model imports nothing outside model'
        : v.to === 'tools'
          ? 'src/ never imports tools/'
          : f !== undefined
            ? f.why
            : `layer ${v.from} may not import layer ${v.to}`;
    process.stdout.write(`${v.file}:${v.line}: imports ${v.spec} (${why})\n`);
  }
  process.stdout.write(
    `layers: ${files} files, ${violations.length} violation(s), ${cycles.length} folder cycle(s)${cycles.length > 0 ? `: ${cycles.map((c) => c.join(' ⇄ ')).join(', ')}` : ''}\n`,
  );
  process.exit(violations.length > 0 || cycles.length > 0 ? 1 : 0);
}
