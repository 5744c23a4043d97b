// The import-layer check on fixture trees: a wrong-way import, a package in the model, src importing tools,
// a forbidden pair and a cycle are each reported with file and line; a clean tree passes; and the
// repository itself passes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { check } from '../../scripts/check-layers.ts';
import { repoRoot } from '../helpers/repo.ts';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'svde-layers-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  dirs.push(root);
  return root;
}
const dirs: string[] = [];

describe('import-layer check', () => {
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('passes a tree whose imports only go down', () => {
    const r = check(
      tree({
        'src/model/a.ts': 'export type A = 1;\n',
        'src/detect/b.ts': "import type { A } from '../model/a.ts';\nexport const b: A = 1;\n",
        'src/app/c.ts': "import { b } from '../detect/b.ts';\nexport const c = b;\n",
      }),
    );
    assert.deepEqual(r.violations, []);
    assert.deepEqual(r.cycles, []);
  });

  it('reports a wrong-way import, a package in the model, src → tools and store → detect, with their lines', () => {
    const r = check(
      tree({
        'src/model/a.ts': "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n",
        'src/detect/b.ts': "// a comment naming '../app/c.ts' is not an import\nimport { c } from '../app/c.ts';\nexport const b = c;\n",
        'src/app/c.ts': "import { b } from '../detect/b.ts';\nexport const c = 1; void b;\n",
        'src/store/d.ts': "import { b } from '../detect/b.ts';\nexport const d = b;\n",
        'src/capture/e.ts': "const m = await import('../../tools/sim/x.ts');\nexport const e = m;\n",
        'tools/sim/x.ts': 'export const x = 1;\n',
      }),
    );
    const got = r.violations.map((v) => `${v.file}:${v.line} ${v.from}→${v.to}`).sort();
    assert.deepEqual(got, [
      'src/capture/e.ts:1 capture→tools',
      'src/detect/b.ts:2 detect→app',
      'src/model/a.ts:1 model→node:fs',
      'src/store/d.ts:1 store→detect',
    ]);
    assert.deepEqual(r.cycles, [['app', 'detect']]);
  });

  it('holds on this repository: 0 violations, 0 folder cycles', () => {
    const r = check(repoRoot);
    assert.deepEqual(r.violations, []);
    assert.deepEqual(r.cycles, []);
    assert.ok(r.files > 100);
  });
});
