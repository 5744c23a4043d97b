// `svde decode` against tshark on every crafted case of native/test/test_sv_decode.cc (malformed and odd
// frames the public captures do not hold). The test program writes the cases to a pcap plus a side file
// naming each frame's case and, where SVDE deliberately differs from tshark, the reason. Every other frame
// must agree with tshark field by field (compareWithTshark); every documented stricter case must be an error.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/repo.ts';
import { compareWithTshark } from '../helpers/decode-compare.ts';

/** One frame of OUT.pcap.json (written by `test_sv_decode --write-cases OUT.pcap`). */
interface CaseFrame {
  frame: number;
  case: string;
  tshark: string; // tshark 4.0.17's verdict as recorded in the test program (checked by native-check.sh)
  svde: string; // decoder status name
  warnings: string;
  stricter: boolean; // tshark decodes it, SVDE reports an error
  laxer: boolean; // tshark flags it, SVDE decodes it
  reason: string;
  stringMapping: boolean; // svID/datSet holds 0x00 or octets >= 0x80
  vlanTpids: number[]; // outer first
}

const TSHARK_DECODES = 'tshark decodes it, svde says: ';
const TSHARK_FLAGS = 'tshark flags it malformed, svde decoded it';
const NOT_SHOWN = 'svde decode reports a frame that tshark does not show as SV';
const VLAN_FIELD = /^ASDU \d+ (vlanId|vlanPriority|innerVlanId|innerVlanPriority): /;
const QINQ = 0x88a8;

describe('svde decode matches tshark on the crafted decoder cases', () => {
  let dir = '';
  let pcap = '';
  let cases = new Map<number, CaseFrame>();
  let byFrame = new Map<number, string[]>();

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-crafted-'));
    const exe = path.join(dir, 'test_sv_decode');
    execFileSync(
      'g++',
      [
        '-std=c++17',
        '-O1',
        path.join(repoRoot, 'native/sv_decode.cc'),
        path.join(repoRoot, 'native/test/test_sv_decode.cc'),
        '-lpcap',
        '-o',
        exe,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    pcap = path.join(dir, 'cases.pcap');
    execFileSync(exe, ['--write-cases', pcap], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
    const side = JSON.parse(readFileSync(`${pcap}.json`, 'utf8')) as { frames: CaseFrame[] };
    cases = new Map(side.frames.map((c) => [c.frame, c]));
    const r = await compareWithTshark(pcap);
    byFrame = new Map();
    for (const m of r.mismatches) {
      const hit = /^\S+ frame (\d+): (.*)$/s.exec(m);
      assert.ok(hit !== null, `unparsable mismatch: ${m}`);
      const f = Number(hit[1]);
      byFrame.set(f, [...(byFrame.get(f) ?? []), hit[2]!]);
    }
    // compareWithTshark keeps at most 50 mismatches: more would hide some frames.
    assert.ok(r.mismatches.length < 50, `${r.mismatches.length} mismatches, the list may be cut`);
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('the side file names every frame of the pcap', () => {
    assert.ok(cases.size > 250, `${cases.size} frames`);
    for (let f = 1; f <= cases.size; f++) assert.ok(cases.has(f), `frame ${f} missing from the side file`);
  });

  it('every frame agrees with tshark except the documented differences', () => {
    const unexplained: string[] = [];
    for (const [f, list] of byFrame) {
      const c = cases.get(f);
      const name = c === undefined ? `frame ${f} (not in the side file)` : `frame ${f} "${c.case}"`;
      for (const what of list) {
        if (c === undefined) unexplained.push(`${name}: ${what}`);
        else if (c.stricter && what.startsWith(TSHARK_DECODES)) continue;
        else if (c.laxer && what === TSHARK_FLAGS) continue;
        // Cut before the SV layer (e.g. 13 bytes): `tshark -Y sv` does not list it; svde reports an error.
        else if (what === NOT_SHOWN && c.tshark === 'malformed' && c.svde !== 'ok') continue;
        else unexplained.push(`${name}: ${what}`);
      }
    }
    assert.deepEqual(unexplained, []);
  });

  it('every documented stricter case is an error in svde decode, every laxer case decodes', () => {
    const stricter = [...cases.values()].filter((c) => c.stricter);
    const laxer = [...cases.values()].filter((c) => c.laxer);
    assert.ok(stricter.length > 0 && laxer.length > 0);
    const notError = stricter.filter((c) => !(byFrame.get(c.frame) ?? []).some((w) => w.startsWith(TSHARK_DECODES)));
    const notDecoded = laxer.filter((c) => !(byFrame.get(c.frame) ?? []).includes(TSHARK_FLAGS));
    assert.deepEqual(
      [...notError, ...notDecoded].map((c) => c.case),
      [],
      `SVDE is stricter than tshark, by design, on: ${stricter.map((c) => `${c.case} (${c.reason})`).join('; ')}` +
        `; laxer on: ${laxer.map((c) => `${c.case} (${c.reason})`).join('; ')}`,
    );
    for (const c of [...stricter, ...laxer]) assert.notEqual(c.reason, '', `${c.case}: no reason`);
  });

  // tshark shows U+FFFD for each svID/datSet octet >= 0x80 and stops at 0x00; so does svde decode.
  it('svID/datSet with 0x00 or octets >= 0x80 print as tshark prints them', () => {
    const mapping = [...cases.values()].filter((c) => c.stringMapping);
    assert.ok(mapping.length > 0);
    assert.deepEqual(
      mapping.flatMap((c) => (byFrame.get(c.frame) ?? []).map((w) => `${c.case}: ${w}`)),
      [],
    );
  });

  it('VLAN fields of frames with an 802.1ad tag match tshark', () => {
    const qinq = [...cases.values()].filter((c) => c.vlanTpids.includes(QINQ));
    assert.ok(qinq.length > 0);
    assert.deepEqual(
      qinq.flatMap((c) => (byFrame.get(c.frame) ?? []).filter((w) => VLAN_FIELD.test(w)).map((w) => `${c.case}: ${w}`)),
      [],
    );
  });
});
