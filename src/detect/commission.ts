// Commissioning: from what a learner observed on the bus and what the SCL says, a proposal for the
// configuration's stream entries (accepted source MACs, with warnings where the two disagree), and its
// merge into an existing configuration file. `svde learn` is its command; nothing here prints or exits.
import path from 'node:path';
import { bindConfig, normalizeMac, parseConfig, type LoadedConfig } from '../config/load.ts';
import type { StreamLearner, ObservedStream } from './learn.ts';
import type { SclImport, SclStream } from '../scl/model.ts';
import { epochString } from '../sv/asdu-record.ts';

export interface LearnWarning {
  code:
    | 'unknown-stream'
    | 'several-source-macs'
    | 'not-seen'
    | 'appid-mismatch'
    | 'vlan-mismatch'
    | 'dst-mac-mismatch'
    | 'confrev-mismatch'
    | 'repeated-counters'
    | 'configured-macs-differ';
  /** The SCL stream key (IED/LDinst/LLN0.cbName), or svID@APPID for a stream the SCL does not describe. */
  stream: string;
  message: string;
}

/** One entry of the configuration's `streams[]`: selectors that name exactly one SCL control block. */
export interface StreamFragment {
  svID: string;
  ied: string;
  ldInst: string;
  cbName: string;
  acceptedSourceMacs: string[];
}

export interface LearnProposal {
  format: 'svde-learn/1';
  source: { pcap: string } | { iface: string; durationS: number };
  scl: string;
  /** Capture time of the first and last SV frame learnt from (epoch seconds, nine decimals). */
  from: string | null;
  to: string | null;
  frames: number;
  /** SV frames not learnt from (malformed). */
  skipped: number;
  streams: StreamFragment[];
  observed: Array<Omit<ObservedStream, 'appId' | 'firstNs' | 'lastNs'> & { appId: string; stream: string | null }>;
  warnings: LearnWarning[];
}

const hex4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
const macsOf = (o: ObservedStream): string[] => o.sources.map((s) => s.mac).sort();
const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** The proposal from what the learner saw, against the SCL stream table (and the current configuration). */
export function buildProposal(
  learner: StreamLearner,
  scl: SclImport,
  source: LearnProposal['source'],
  frames: number,
  loaded?: LoadedConfig,
): LearnProposal {
  const seen = learner.observed();
  const warnings: LearnWarning[] = [];
  const streams: StreamFragment[] = [];
  const observed: LearnProposal['observed'] = [];
  const matched = new Set<string>();
  let first: bigint | undefined;
  let last: bigint | undefined;
  for (const o of seen) {
    if (first === undefined || o.firstNs < first) first = o.firstNs;
    if (last === undefined || o.lastNs > last) last = o.lastNs;
    const s = scl.streams.find((t) => t.svID === o.svID && t.address?.appId === o.appId);
    const { firstNs: _f, lastNs: _l, appId: _a, ...rest } = o;
    observed.push({ ...rest, appId: hex4(o.appId), stream: s?.key ?? null });
    const name = s?.key ?? `${o.svID}@${hex4(o.appId)}`;
    const macs = macsOf(o);
    if (s === undefined) {
      const sameId = scl.streams.filter((t) => t.svID === o.svID);
      if (sameId.length > 0) {
        warnings.push({
          code: 'appid-mismatch',
          stream: name,
          message: `svID "${o.svID}" is sent with APPID ${hex4(o.appId)} (${o.frames} frames from ${macs.join(', ')}); the SCL gives it APPID ${sameId.map((t) => t.address?.appIdHex ?? 'none').join(', ')} (${sameId.map((t) => t.key).join(', ')})`,
        });
      } else {
        warnings.push({
          code: 'unknown-stream',
          stream: name,
          message: `svID "${o.svID}" APPID ${hex4(o.appId)} (${o.frames} frames from ${macs.join(', ')}) is not in SCL file ${path.basename(scl.file)}: not proposed`,
        });
      }
      continue;
    }
    matched.add(s.key);
    streams.push({ svID: s.svID, ied: s.iedName, ldInst: s.ldInst, cbName: s.cbName, acceptedSourceMacs: macs });
    if (o.sources.length > 1) {
      warnings.push({
        code: 'several-source-macs',
        stream: s.key,
        message: `${o.sources.length} source MACs publish this stream: ${o.sources.map((x) => `${x.mac} (${x.frames} frames)`).join(', ')}; keep only the merging unit's (redundant publishers are rare; a second one may be an attacker)`,
      });
    }
    if (o.repeatedCounters > 0) {
      warnings.push({
        code: 'repeated-counters',
        stream: s.key,
        message: `${o.repeatedCounters} of ${o.frames} frames repeat the previous frame's smpCnt (a second publisher with the same MAC, or a replay): the capture may not be clean`,
      });
    }
    checkAddress(s, o, warnings);
    const bound = loaded?.streams.find((b) => b.scl.key === s.key);
    if (bound !== undefined && bound.acceptedSourceMacs.length > 0 && !sameSet(bound.acceptedSourceMacs, macs)) {
      warnings.push({
        code: 'configured-macs-differ',
        stream: s.key,
        message: `configured acceptedSourceMacs ${bound.acceptedSourceMacs.join(', ')}; seen ${macs.join(', ')}`,
      });
    }
  }
  for (const t of scl.streams) {
    if (!matched.has(t.key))
      warnings.push({
        code: 'not-seen',
        stream: t.key,
        message: `svID "${t.svID}"${t.address?.appIdHex ? ` APPID ${t.address.appIdHex}` : ''} is in the SCL file but was never seen`,
      });
  }
  return {
    format: 'svde-learn/1',
    source,
    scl: scl.file,
    from: first !== undefined ? epochString(first) : null,
    to: last !== undefined ? epochString(last) : null,
    frames,
    skipped: learner.skipped,
    streams,
    observed,
    warnings,
  };
}

function checkAddress(s: SclStream, o: ObservedStream, warnings: LearnWarning[]): void {
  const a = s.address;
  if (a === null) return;
  const vlanWant = a.vlanId !== null ? `${a.vlanId}:${a.vlanPriority ?? 4}` : null;
  const vlansSeen = o.vlans.map((v) => (v.vlan !== null ? `${v.vlan.id}:${v.vlan.priority}` : 'untagged'));
  if (
    vlanWant !== null &&
    (vlansSeen.length !== 1 || (vlansSeen[0] !== vlanWant && !(a.vlanPriority === null && vlansSeen[0]!.startsWith(`${a.vlanId}:`))))
  ) {
    warnings.push({
      code: 'vlan-mismatch',
      stream: s.key,
      message: `the SCL gives VLAN ${a.vlanId}${a.vlanPriority !== null ? ` priority ${a.vlanPriority}` : ''}; seen ${o.vlans.map((v, i) => `${vlansSeen[i]} (${v.frames} frames)`).join(', ')}`,
    });
  }
  if (a.dstMac !== null && (o.dstMacs.length !== 1 || o.dstMacs[0]!.mac !== a.dstMac)) {
    warnings.push({
      code: 'dst-mac-mismatch',
      stream: s.key,
      message: `the SCL gives destination ${a.dstMac}; seen ${o.dstMacs.map((d) => `${d.mac} (${d.frames} frames)`).join(', ')}`,
    });
  }
  if (s.confRev !== null && o.confRev !== s.confRev) {
    warnings.push({
      code: 'confrev-mismatch',
      stream: s.key,
      message: `the SCL gives confRev ${s.confRev}; most frames carry ${o.confRev}`,
    });
  }
}

export interface MergeResult {
  /** The configuration document (as written, with the proposal merged). */
  config: Record<string, unknown>;
  notes: string[];
  /** Decisions left to the engineer (nothing was changed for them). */
  conflicts: string[];
}

/** Merges the proposal into a configuration document without overwriting anything that differs. */
export function mergeProposal(file: string, raw: Record<string, unknown>, scl: SclImport, proposal: LearnProposal): MergeResult {
  const cfg = parseConfig(raw, file);
  const bound = bindConfig(cfg, scl, file);
  const out = structuredClone(raw);
  const list = Array.isArray(out['streams']) ? (out['streams'] as Record<string, unknown>[]) : [];
  const notes: string[] = [];
  const conflicts: string[] = [];
  const several = new Set(proposal.warnings.filter((w) => w.code === 'several-source-macs').map((w) => w.stream));
  for (const p of proposal.streams) {
    const key = `${p.ied}/${p.ldInst}/LLN0.${p.cbName}`;
    if (several.has(key)) {
      conflicts.push(
        `${key}: seen with several source MACs (${p.acceptedSourceMacs.join(', ')}): not merged; add the merging unit's MAC by hand`,
      );
      continue;
    }
    const b = bound.find((x) => x.scl.key === key);
    if (b !== undefined && b.configIndex !== null) {
      const entry = list[b.configIndex]!;
      const have = Array.isArray(entry['acceptedSourceMacs']) ? (entry['acceptedSourceMacs'] as string[]) : [];
      if (have.length === 0) {
        entry['acceptedSourceMacs'] = p.acceptedSourceMacs;
        notes.push(`${key}: acceptedSourceMacs set to ${p.acceptedSourceMacs.join(', ')} (/streams/${b.configIndex})`);
      } else if (sameSet(have.map(normalizeMac), p.acceptedSourceMacs)) {
        notes.push(`${key}: unchanged (already ${have.join(', ')})`);
      } else {
        conflicts.push(
          `${key}: /streams/${b.configIndex}/acceptedSourceMacs is ${have.join(', ')} but ${p.acceptedSourceMacs.join(', ')} was seen: left as configured`,
        );
      }
    } else {
      list.push({ ...p });
      notes.push(`${key}: added as /streams/${list.length - 1} with acceptedSourceMacs ${p.acceptedSourceMacs.join(', ')}`);
    }
  }
  out['streams'] = list;
  if (out['scl'] === undefined && list.length > 0) {
    out['scl'] = path.relative(path.dirname(path.resolve(file)), path.resolve(scl.file)) || path.basename(scl.file);
    notes.push(`scl set to ${String(out['scl'])} (stream entries need an SCL file)`);
  }
  // What is printed must load: the same checks as loadConfigFile.
  bindConfig(parseConfig(out, file), scl, file);
  return { config: out, notes, conflicts };
}
