// src/ never imports tools/ (the simulator, test bed, emulators, demo): production code must load and run
// without them. The one exception is `svde run`'s hand-over to the demo (src/cli/run.ts), marked on its line.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { repoRoot } from './helpers/repo.ts';

const SRC = path.join(repoRoot, 'src');
const TOOLS = path.join(repoRoot, 'tools') + path.sep;
const ALLOWED = {
  file: path.join(SRC, 'cli/run.ts'),
  target: path.join(repoRoot, 'tools/demo/main.ts'),
  mark: '// dev-only demo delegation',
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier of a file — static imports and re-exports, `import type`, dynamic import() — with its line. */
function importsOf(text: string): { spec: string; line: string }[] {
  const lines = text.split('\n');
  const starts = [0];
  for (const l of lines) starts.push(starts[starts.length - 1]! + l.length + 1);
  const lineAt = (pos: number): string => lines[starts.findLastIndex((s) => s <= pos)] ?? '';
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => ({ spec: f.fileName, line: lineAt(f.pos) }));
}

/** The imports of tools/ in a file under src/ that break the rule. */
function toolsImports(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  for (const { spec, line } of importsOf(text)) {
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec);
    if (!target.startsWith(TOOLS)) continue;
    if (file === ALLOWED.file && target === ALLOWED.target && line.includes(ALLOWED.mark)) continue;
    out.push(`${path.relative(repoRoot, file)}: ${spec}`);
  }
  return out;
}

test('no file under src/ imports tools/ (but the one marked demo hand-over)', () => {
  const files = tsFiles(SRC);
  assert.ok(files.length > 50, 'the scan sees the sources');
  assert.deepEqual(
    files.flatMap((f) => toolsImports(f)),
    [],
  );
});

test('the scan sees static, type-only and dynamic imports, and allows only the marked line', () => {
  const text = [
    "import { a } from '../../tools/sim/engine.ts';",
    "import type { B } from '../../tools/sim/truth.ts';",
    "export { c } from '../../tools/chip/emulator.ts';",
    "const m = await import('../../tools/demo/bay.ts');",
    "const d = await import('../../tools/demo/main.ts'); // dev-only demo delegation",
    "import { ok } from '../model/streams.ts';",
  ].join('\n');
  assert.deepEqual(
    toolsImports(ALLOWED.file, text),
    ['../../tools/sim/engine.ts', '../../tools/sim/truth.ts', '../../tools/chip/emulator.ts', '../../tools/demo/bay.ts'].map(
      (s) => `src/cli/run.ts: ${s}`,
    ),
  );
  // Elsewhere the marked line is no exception.
  const other = path.join(SRC, 'cli/decode.ts');
  assert.deepEqual(toolsImports(other, text).length, 5);
});
