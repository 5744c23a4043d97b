// `svde decode`: the command-line contract around the decoding itself (which decode-oracle.test.ts checks
// against tshark): arguments, unreadable files, malformed frames in the middle of good ones, early close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { capturesDir, repoRoot, svde } from '../helpers/repo.ts';

const guseynov = path.join(capturesDir, 'other/guseynov1_9-2LE_80frames.pcap');

describe('svde decode command line', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-decode-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('needs exactly one file', async () => {
    const r = await svde(['decode']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected exactly one capture file/);
    const r2 = await svde(['decode', 'a.pcap', 'b.pcap']);
    assert.equal(r2.code, 2);
    const r3 = await svde(['decode', '--frobnicate', 'a.pcap']);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /frobnicate/);
  });

  it('names the file and the reason when it cannot be read', async () => {
    const missing = path.join(dir, 'missing.pcap');
    const r = await svde(['decode', missing]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(missing), r.stderr);
    const text = path.join(dir, 'text.pcap');
    writeFileSync(text, 'this is not a capture\n');
    const r2 = await svde(['decode', text]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /format|magic|capture/i);
  });

  it('reports a malformed frame precisely and keeps decoding the frames after it', async () => {
    // Copy the capture and corrupt frame 2's savPdu tag (classic pcap: 24-byte file header, 16-byte records).
    const bytes = Buffer.from(readFileSync(guseynov));
    let off = 24;
    const caplen1 = bytes.readUInt32LE(off + 8);
    off += 16 + caplen1; // start of record 2
    const frame2 = off + 16;
    assert.equal(bytes.readUInt16BE(frame2 + 12), 0x88ba, 'untagged SV frame');
    bytes[frame2 + 22] = 0x61; // savPdu is [APPLICATION 0] = 0x60
    const bad = path.join(dir, 'bad.pcap');
    writeFileSync(bad, bytes);
    const r = await svde(['decode', bad]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 80);
    assert.equal(lines[1]!['frame'], 2);
    assert.match(String(lines[1]!['error']), /^bad-tag: .*byte 22/);
    assert.equal(lines[2]!['frame'], 3);
    assert.equal(typeof lines[2]!['smpCnt'], 'number');
  });

  it('stops quietly when the reader closes the pipe', async () => {
    const child = spawn(
      process.execPath,
      [path.join(repoRoot, 'src/cli/main.ts'), 'decode', path.join(capturesDir, 'qut-zss-2023-sv/971a_QUTZS.pcapng')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });
});
