// Wireshark's SV dissector (tshark) as the outside oracle: runs it on a capture and normalises its JSON
// into per-frame records with the field names of `svde decode`.
import { execFileSync } from 'node:child_process';

export interface TsharkAsdu {
  svId: string;
  datSet?: string;
  smpCnt: number;
  confRev: number;
  refrTm?: string;
  smpSynch?: number;
  smpRate?: number;
  smpMod?: number;
  gmIdentity?: string;
  seqData?: string;
  values?: number[];
  quality?: number[];
}

export interface TsharkFrame {
  frame: number;
  ts: string;
  src: string;
  dst: string;
  vlanIds: number[];
  vlanPriorities: number[];
  appId?: number;
  simulated?: boolean;
  reserved2?: number;
  noAsdu?: number;
  asdus: TsharkAsdu[];
  malformed: boolean;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function asArray(v: Json | undefined): Json[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function str(o: Obj, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
}

/** True if any key in the tree names a malformed-packet or error-severity expert item. */
function hasMalformed(v: Json): boolean {
  if (Array.isArray(v)) return v.some(hasMalformed);
  if (v !== null && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      if (k.startsWith('_ws.malformed') || k.startsWith('sv.malformed') || k === 'sv.zero_pdu') return true;
      // 8388608 = PI_ERROR (epan/proto.h): expert items of error severity.
      if (k === '_ws.expert.severity' && child === '8388608') return true;
      if (hasMalformed(child)) return true;
    }
  }
  return false;
}

const MONTHS: Record<string, string> = {
  Jan: '01',
  Feb: '02',
  Mar: '03',
  Apr: '04',
  May: '05',
  Jun: '06',
  Jul: '07',
  Aug: '08',
  Sep: '09',
  Oct: '10',
  Nov: '11',
  Dec: '12',
};

/** "Jun 12, 2026 10:31:00.000000000 UTC" → "2026-06-12T10:31:00.000000000Z". */
export function tsharkTimeToIso(s: string): string {
  const m = /^(\w{3})\s+(\d{1,2}), (\d{4}) (\d{2}:\d{2}:\d{2})\.(\d{9}) UTC$/.exec(s.trim());
  if (m === null) return `unparsed:${s}`;
  return `${m[3]}-${MONTHS[m[1]!]}-${m[2]!.padStart(2, '0')}T${m[4]}.${m[5]}Z`;
}

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  return s.startsWith('0x') ? Number.parseInt(s, 16) : Number(s);
}

function runTshark(file: string, phsMeas: boolean): Obj[] {
  const out = execFileSync(
    'tshark',
    ['-n', '-r', file, '-o', `sv.decode_data_as_phsmeas:${phsMeas ? 'TRUE' : 'FALSE'}`, '-Y', 'sv', '-T', 'json', '--no-duplicate-keys'],
    { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] },
  ).toString('utf8');
  const parsed = JSON.parse(out.trim() === '' ? '[]' : out) as Json[];
  return parsed.map((p) => ((p as Obj)['_source'] as Obj)['layers'] as Obj);
}

function parseAsdu(a: Obj): TsharkAsdu {
  const r: TsharkAsdu = { svId: str(a, 'sv.svID') ?? '', smpCnt: num(str(a, 'sv.smpCnt')) ?? -1, confRev: num(str(a, 'sv.confRev')) ?? -1 };
  const datSet = str(a, 'sv.datSet');
  if (datSet !== undefined) r.datSet = datSet;
  const refrTm = str(a, 'sv.refrTm');
  if (refrTm !== undefined) r.refrTm = tsharkTimeToIso(refrTm);
  const smpSynch = num(str(a, 'sv.smpSynch'));
  if (smpSynch !== undefined) r.smpSynch = smpSynch;
  const smpRate = num(str(a, 'sv.smpRate'));
  if (smpRate !== undefined) r.smpRate = smpRate;
  const smpMod = num(str(a, 'sv.smpMod'));
  if (smpMod !== undefined) r.smpMod = smpMod;
  const gm = str(a, 'sv.gmidentity');
  if (gm !== undefined) r.gmIdentity = BigInt(gm).toString(16).padStart(16, '0');
  const seqData = str(a, 'sv.seqData');
  if (seqData !== undefined) r.seqData = seqData.replaceAll(':', '');
  // phsMeas decoding: values/qualities sit in a sub-tree named after the dataset's data type.
  for (const v of Object.values(a)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'sv.meas_value' in v) {
      r.values = asArray(v['sv.meas_value']).map((x) => Number(x));
      r.quality = asArray(v['sv.meas_quality']).map((x) => Number.parseInt(String(x), 16));
    }
  }
  return r;
}

function parseFrame(l: Obj): TsharkFrame {
  const frame = l['frame'] as Obj;
  const eth = l['eth'] as Obj;
  // 802.1ad (0x88a8) tags are dissected as an ieee8021ad layer before the 802.1Q ones (tshark's JSON
  // keeps no other interleaving; S-tags come outer first in practice).
  const sTags = (asArray(l['ieee8021ad']) as Obj[]).map((v) => ({ id: str(v, 'ieee8021ad.id'), prio: str(v, 'ieee8021ad.priority') }));
  const cTags = (asArray(l['vlan']) as Obj[]).map((v) => ({ id: str(v, 'vlan.id'), prio: str(v, 'vlan.priority') }));
  const vlans = [...sTags, ...cTags];
  const f: TsharkFrame = {
    frame: Number(str(frame, 'frame.number')),
    ts: str(frame, 'frame.time_epoch') ?? '',
    src: str(eth, 'eth.src') ?? '',
    dst: str(eth, 'eth.dst') ?? '',
    vlanIds: vlans.map((v) => Number(v.id)),
    vlanPriorities: vlans.map((v) => Number(v.prio)),
    asdus: [],
    malformed: hasMalformed(l),
  };
  const sv = l['sv'] as Obj | undefined;
  if (sv !== undefined) {
    f.appId = num(str(sv, 'sv.appid'));
    const r1 = sv['sv.reserve1_tree'] as Obj | undefined;
    if (r1 !== undefined) f.simulated = str(r1, 'sv.reserve1.s_bit') === '1';
    f.reserved2 = num(str(sv, 'sv.reserve2'));
    const pdu = sv['sv.savPdu_element'] as Obj | undefined;
    if (pdu !== undefined) {
      f.noAsdu = num(str(pdu, 'sv.noASDU'));
      const tree = pdu['sv.seqASDU_tree'] as Obj | undefined;
      if (tree !== undefined) f.asdus = (asArray(tree['sv.ASDU_element']) as Obj[]).map(parseAsdu);
    }
  }
  return f;
}

/**
 * Every SV frame of the capture as tshark sees it. seqData comes from the plain decoding; values and
 * quality from a second pass with phsMeas decoding, kept only where that pass did not flag the frame and
 * seqData holds whole value/quality pairs.
 */
export function tsharkFrames(file: string): TsharkFrame[] {
  const plain = runTshark(file, false).map(parseFrame);
  const meas = new Map(
    runTshark(file, true)
      .map(parseFrame)
      .map((f) => [f.frame, f]),
  );
  for (const f of plain) {
    const m = meas.get(f.frame);
    if (m === undefined || m.malformed || m.asdus.length !== f.asdus.length) continue;
    f.asdus.forEach((a, k) => {
      const ma = m.asdus[k]!;
      // SPEC §4: values/quality exist only when seqData is a whole number of 8-byte pairs; tshark's
      // phsMeas decoding also reads the leading pairs of other seqData sizes, which is not compared.
      const wholePairs = a.seqData !== undefined && a.seqData.length % 16 === 0;
      if (ma.values !== undefined && wholePairs) {
        a.values = ma.values;
        a.quality = ma.quality ?? [];
      }
    });
  }
  return plain;
}
