// Hostile and broken SCL files: each is refused with a precise message (file:line[:col]: reason), never a
// hang, a crash or an expanded entity.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, truncateSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sclDir } from '../helpers/repo.ts';
import { importSclFile } from '../../src/scl/import.ts';
import { DEFAULT_XML_LIMITS, parseXml, SclParseError } from '../../src/scl/xml.ts';
import { runScl } from '../../src/cli/scl.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-scl-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NS = 'http://www.iec.ch/61850/2003/SCL';

function write(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

function refused(file: string, re: RegExp, limits = {}): SclParseError {
  let err: unknown;
  try {
    importSclFile(file, { limits });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SclParseError, `expected SclParseError for ${path.basename(file)}, got ${String(err)}`);
  assert.match(err.message, re);
  assert.ok(err.message.startsWith(file), err.message);
  return err;
}

test('billion laughs: the DOCTYPE is refused before any entity could be expanded', () => {
  const lol = ['<!ENTITY lol0 "lol">'];
  for (let i = 1; i <= 9; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
  const f = write(
    'laughs.scd',
    `<?xml version="1.0"?>\n<!DOCTYPE SCL [\n ${lol.join('\n ')}\n]>\n<SCL xmlns="${NS}"><Header id="&lol9;"/></SCL>\n`,
  );
  const e = refused(f, /:2: DOCTYPE declarations are refused in SCL files \(no DTD, entity expansion or external entities\)$/);
  assert.equal(e.line, 2);
});

test('external entity (XXE): refused, the referenced file is never read into the result', () => {
  const secret = write('secret.txt', 'TOP-SECRET-CONTENT');
  const f = write(
    'xxe.scd',
    `<?xml version="1.0"?>\n<!DOCTYPE SCL [ <!ENTITY xxe SYSTEM "file://${secret}"> ]>\n<SCL xmlns="${NS}"><Header id="&xxe;"/></SCL>\n`,
  );
  const e = refused(f, /DOCTYPE declarations are refused/);
  assert.doesNotMatch(e.message, /TOP-SECRET/);
});

test('an entity reference without a DTD is an error, not an expansion', () => {
  const f = write('undef.scd', `<SCL xmlns="${NS}">\n<Header id="&lol;"/></SCL>`);
  const e = refused(f, /:2:\d+: undefined entity reference/);
  assert.equal(e.line, 2);
});

test('10 000-deep nesting is refused at the depth limit', () => {
  const n = 10_000;
  const f = write('deep.scd', `<SCL xmlns="${NS}">${'<Private>'.repeat(n)}${'</Private>'.repeat(n)}</SCL>`);
  refused(f, new RegExp(`element nesting deeper than ${DEFAULT_XML_LIMITS.maxDepth} levels \\(depth limit\\)$`));
  // Foreign-namespace nesting counts too (it is not kept, but it is not free).
  const g = write(
    'deep-foreign.scd',
    `<SCL xmlns="${NS}"><Private>${'<v:x xmlns:v="urn:v">'.repeat(n)}${'</v:x>'.repeat(n)}</Private></SCL>`,
  );
  refused(g, /depth limit/);
});

test('a file over the size limit is refused without being read', () => {
  const f = write('big.scd', '');
  truncateSync(f, DEFAULT_XML_LIMITS.maxBytes + 1); // sparse: no disk used
  refused(f, new RegExp(`: file is ${DEFAULT_XML_LIMITS.maxBytes + 1} bytes, over the limit of ${DEFAULT_XML_LIMITS.maxBytes} bytes$`));
  const small = path.join(sclDir, 'libiec61850_sv.icd');
  refused(small, /file is 5209 bytes, over the limit of 4096 bytes/, { maxBytes: 4096 });
});

test('element-count, attribute-count and text-length limits', () => {
  const many = write('many.scd', `<SCL xmlns="${NS}">${'<Private/>'.repeat(200)}</SCL>`);
  refused(many, /more than 100 elements \(element-count limit\)/, { maxElements: 100 });
  const attrs = Array.from({ length: 300 }, (_, i) => `a${i}="1"`).join(' ');
  refused(write('attrs.scd', `<SCL xmlns="${NS}"><Header ${attrs}/></SCL>`), /:1: element <Header> has 300 attributes \(limit 256\)/);
  refused(
    write('text.scd', `<SCL xmlns="${NS}"><Header><Text>${'x'.repeat(5000)}</Text></Header></SCL>`),
    /text of <Text> longer than 1000 characters/,
    { maxTextLength: 1000 },
  );
});

test('non-XML, binary, empty, truncated and wrong-root files', () => {
  refused(write('notxml.scd', 'hello world, this is not XML\n'), /:1: not an XML document \(starts with "hello world, thi"\)$/);
  const bin = Buffer.alloc(1024);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 37 + 11) & 0xff;
  bin[0] = 0x3c; // '<' then garbage: must fail on encoding, not crash
  refused(write('bin.scd', bin), /not valid UTF-8 text \(binary file\?\)$/);
  refused(write('empty.scd', ''), /empty file, not an XML document$/);
  const icd = readFileSync(path.join(sclDir, 'libiec61850_sv.icd'), 'utf8');
  refused(write('trunc.scd', icd.slice(0, 2600)), /truncated or not well-formed: unclosed tag/);
  refused(
    write('html.scd', '<html><body/></html>'),
    /root element is <html> without namespace, not <SCL> in namespace http:\/\/www\.iec\.ch\/61850\/2003\/SCL$/,
  );
  refused(write('mism.scd', `<SCL xmlns="${NS}"><Header></Foo></SCL>`), /:1:\d+: unexpected close tag/);
  refused(write('enc.scd', `<?xml version="1.0" encoding="Shift_JIS"?><SCL xmlns="${NS}"/>`), /unsupported encoding "Shift_JIS"/);
  refused(path.join(dir, 'absent.scd'), /cannot open: ENOENT$/);
  mkdirSync(path.join(dir, 'adir.scd'));
  refused(path.join(dir, 'adir.scd'), /not a regular file$/);
});

test('ISO-8859-1 and UTF-16 (BOM) files are read', () => {
  const latin = Buffer.concat([
    Buffer.from(`<?xml version="1.0" encoding="ISO-8859-1"?><SCL xmlns="${NS}"><Header id="`),
    Buffer.from([0xe9]),
    Buffer.from('"/></SCL>'),
  ]);
  assert.equal(parseXml('l', new TextDecoder('windows-1252').decode(latin)).children[0]!.attrs['id'], 'é');
  const f = write('latin.scd', latin);
  assert.equal(importSclFile(f).header.id, 'é');
  const u16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`<SCL xmlns="${NS}"><Header id="ü"/></SCL>`, 'utf16le')]);
  assert.equal(importSclFile(write('u16.scd', u16)).header.id, 'ü');
});

test('svde scl exits 1 with the reason on a hostile file, 2 on bad usage', () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
  const f = write('laughs2.scd', `<!DOCTYPE SCL [<!ENTITY a "aaaa">]><SCL xmlns="${NS}"/>`);
  assert.equal(runScl([f], io), 1);
  assert.equal(out.join(''), '');
  assert.match(err.join(''), /^svde scl: .*laughs2\.scd:1: DOCTYPE declarations are refused/);
  assert.equal(runScl([], io), 2);
  assert.equal(runScl([f, '--max-bytes', 'lots'], io), 2);
});
