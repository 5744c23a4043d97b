// `svde decode` (the real command line) compared with Wireshark's dissector, field by field.
import assert from 'node:assert/strict';
import path from 'node:path';
import { svde } from './repo.ts';
import { tsharkFrames, type TsharkFrame } from './tshark.ts';

interface DecodeLine {
  frame: number;
  asdu?: number;
  error?: string;
  [k: string]: unknown;
}

const ASDU_FIELDS = [
  'svId',
  'datSet',
  'smpCnt',
  'confRev',
  'refrTm',
  'smpSynch',
  'smpRate',
  'smpMod',
  'gmIdentity',
  'seqData',
  'values',
  'quality',
] as const;

export async function compareWithTshark(file: string): Promise<{ frames: number; asdus: number; errors: number; mismatches: string[] }> {
  const res = await svde(['decode', file]);
  assert.equal(res.code, 0, `svde decode exited ${res.code}: ${res.stderr}`);
  const lines = res.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as DecodeLine);
  const ours = new Map<number, DecodeLine[]>();
  for (const l of lines) {
    const list = ours.get(l.frame) ?? [];
    list.push(l);
    ours.set(l.frame, list);
  }
  const theirs = tsharkFrames(file);
  const mismatches: string[] = [];
  const miss = (f: number, what: string): void => {
    if (mismatches.length < 50) mismatches.push(`${path.basename(file)} frame ${f}: ${what}`);
  };
  let asdus = 0;
  let errors = 0;
  const seen = new Set<number>();
  for (const t of theirs) {
    seen.add(t.frame);
    const o = ours.get(t.frame);
    if (o === undefined) {
      miss(t.frame, 'tshark shows an SV frame that svde decode does not report');
      continue;
    }
    const err = o.find((l) => l.error !== undefined);
    if (t.malformed) {
      if (err === undefined) miss(t.frame, 'tshark flags it malformed, svde decoded it');
      else errors++;
      continue;
    }
    if (err !== undefined) {
      miss(t.frame, `tshark decodes it, svde says: ${err.error}`);
      continue;
    }
    compareFrame(t, o, miss);
    asdus += o.length;
  }
  for (const f of ours.keys()) if (!seen.has(f)) miss(f, 'svde decode reports a frame that tshark does not show as SV');
  return { frames: theirs.length, asdus, errors, mismatches };
}

function compareFrame(t: TsharkFrame, o: DecodeLine[], miss: (f: number, what: string) => void): void {
  const f = t.frame;
  if (o.length !== t.asdus.length) miss(f, `ASDU count ${o.length} vs tshark ${t.asdus.length}`);
  o.forEach((l, k) => {
    const a = t.asdus[k];
    if (a === undefined) return;
    const eq = (name: string, mine: unknown, ref: unknown): void => {
      if (JSON.stringify(mine) !== JSON.stringify(ref))
        miss(f, `ASDU ${k} ${name}: ${JSON.stringify(mine)} vs tshark ${JSON.stringify(ref)}`);
    };
    eq('asdu', l.asdu, k);
    eq('ts', l['ts'], t.ts);
    eq('src', l['src'], t.src);
    eq('dst', l['dst'], t.dst);
    eq('vlanId', l['vlanId'], t.vlanIds[0]);
    eq('vlanPriority', l['vlanPriority'], t.vlanPriorities[0]);
    eq('innerVlanId', l['innerVlanId'], t.vlanIds[1]);
    eq('innerVlanPriority', l['innerVlanPriority'], t.vlanPriorities[1]);
    eq('appId', l['appId'], t.appId);
    eq('simulated', l['simulated'], t.simulated);
    eq('reserved2', l['reserved2'], t.reserved2);
    for (const name of ASDU_FIELDS) eq(name, l[name], a[name]);
  });
}
