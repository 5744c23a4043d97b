// svde learn --scl FILE.scd (--pcap FILE | --iface IF [--duration S]) [--config FILE] [--out FILE]
//            [--merge CONFIG] — commissioning learn mode (SPEC §4): from traffic known to be clean, record
// per stream the source MACs (and VLAN, APPID, destination MAC) seen and propose the configuration's
// `streams[].acceptedSourceMacs`, with warnings for what the engineer must decide: streams the SCL does not
// describe, several source MACs for one stream, SCL streams never seen, addressing that differs from the
// SCL, repeated counters (a second publisher in the "clean" capture). A proposal to review, never applied
// by itself; --merge prints a configuration with it merged and leaves every disagreement to the engineer.
import { parseDuration } from '../model/duration.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { commandArgs } from './args.ts';
import { ConfigError, bindConfig, loadConfigFile, normalizeMac, parseConfig, type LoadedConfig } from '../config/load.ts';
import { StreamLearner, type ObservedStream } from '../detect/learn.ts';
import { LiveCapture, readCaptureFile, type FrameBatch } from '../native/index.ts';
import { importSclFile } from '../scl/import.ts';
import type { SclImport, SclStream } from '../scl/model.ts';
import { SclParseError } from '../scl/xml.ts';
import { epochString } from '../sv/asdu-record.ts';

const HELP = `usage: svde learn --scl FILE.scd --pcap FILE [--config FILE] [--out FILE] [--merge CONFIG]
       svde learn --scl FILE.scd --iface IFACE [--duration S] [--netns NS] [--config FILE] [--out FILE] [--merge CONFIG]

Commissioning learn mode: records, per stream of traffic known to be clean, the source MACs (and the
VLAN tag, APPID and destination MAC) seen, and proposes the configuration's streams[].acceptedSourceMacs
for the engineer to review. Nothing is applied by itself.
  --pcap FILE      learn offline from a pcap/pcapng capture
  --iface IFACE    learn live (needs CAP_NET_RAW) for --duration (10s, 2m, plain seconds; default the
                   configuration's learn.durationS, else 60 s); Ctrl-C stops early and keeps what was seen
  --scl FILE       the SCD/SCL file describing the expected streams (default: the configuration's scl)
  --config FILE    the current configuration: its accepted source MACs are compared with what is seen
  --out FILE       write the proposal (JSON) there; without --out and --merge it goes to stdout
  --merge CONFIG   print CONFIG with the proposal merged: a stream's acceptedSourceMacs is filled when the
                   configuration has none and a missing stream entry is added; a configured list that
                   differs, or a stream seen with several source MACs, is left for the engineer (reported
                   on stderr, exit status 3)
Proposal: {"format":"svde-learn/1", "streams":[{svID, ied, ldInst, cbName, acceptedSourceMacs}] (the
configuration fragment), "observed":[…per stream on the wire…], "warnings":[{code, stream, message}], …}
Warning codes: unknown-stream, several-source-macs, not-seen, appid-mismatch, vlan-mismatch,
dst-mac-mismatch, confrev-mismatch, repeated-counters, configured-macs-differ.
`;

const fail = (msg: string, code = 2): number => {
  process.stderr.write(`svde learn: ${msg}\n`);
  return code;
};

export interface LearnWarning {
  code: 'unknown-stream' | 'several-source-macs' | 'not-seen' | 'appid-mismatch' | 'vlan-mismatch' | 'dst-mac-mismatch' | 'confrev-mismatch' | 'repeated-counters' | 'configured-macs-differ';
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
const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** The proposal from what the learner saw, against the SCL stream table (and the current configuration). */
export function buildProposal(learner: StreamLearner, scl: SclImport, source: LearnProposal['source'], frames: number, loaded?: LoadedConfig): LearnProposal {
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
        warnings.push({ code: 'appid-mismatch', stream: name, message: `svID "${o.svID}" is sent with APPID ${hex4(o.appId)} (${o.frames} frames from ${macs.join(', ')}); the SCL gives it APPID ${sameId.map((t) => t.address?.appIdHex ?? 'none').join(', ')} (${sameId.map((t) => t.key).join(', ')})` });
      } else {
        warnings.push({ code: 'unknown-stream', stream: name, message: `svID "${o.svID}" APPID ${hex4(o.appId)} (${o.frames} frames from ${macs.join(', ')}) is not in SCL file ${path.basename(scl.file)}: not proposed` });
      }
      continue;
    }
    matched.add(s.key);
    streams.push({ svID: s.svID, ied: s.iedName, ldInst: s.ldInst, cbName: s.cbName, acceptedSourceMacs: macs });
    if (o.sources.length > 1) {
      warnings.push({ code: 'several-source-macs', stream: s.key, message: `${o.sources.length} source MACs publish this stream: ${o.sources.map((x) => `${x.mac} (${x.frames} frames)`).join(', ')}; keep only the merging unit's (redundant publishers are rare; a second one may be an attacker)` });
    }
    if (o.repeatedCounters > 0) {
      warnings.push({ code: 'repeated-counters', stream: s.key, message: `${o.repeatedCounters} of ${o.frames} frames repeat the previous frame's smpCnt (a second publisher with the same MAC, or a replay): the capture may not be clean` });
    }
    checkAddress(s, o, warnings);
    const bound = loaded?.streams.find((b) => b.scl.key === s.key);
    if (bound !== undefined && bound.acceptedSourceMacs.length > 0 && !sameSet(bound.acceptedSourceMacs, macs)) {
      warnings.push({ code: 'configured-macs-differ', stream: s.key, message: `configured acceptedSourceMacs ${bound.acceptedSourceMacs.join(', ')}; seen ${macs.join(', ')}` });
    }
  }
  for (const t of scl.streams) {
    if (!matched.has(t.key)) warnings.push({ code: 'not-seen', stream: t.key, message: `svID "${t.svID}"${t.address?.appIdHex ? ` APPID ${t.address.appIdHex}` : ''} is in the SCL file but was never seen` });
  }
  return {
    format: 'svde-learn/1', source, scl: scl.file,
    from: first !== undefined ? epochString(first) : null, to: last !== undefined ? epochString(last) : null,
    frames, skipped: learner.skipped, streams, observed, warnings,
  };
}

function checkAddress(s: SclStream, o: ObservedStream, warnings: LearnWarning[]): void {
  const a = s.address;
  if (a === null) return;
  const vlanWant = a.vlanId !== null ? `${a.vlanId}:${a.vlanPriority ?? 4}` : null;
  const vlansSeen = o.vlans.map((v) => (v.vlan !== null ? `${v.vlan.id}:${v.vlan.priority}` : 'untagged'));
  if (vlanWant !== null && (vlansSeen.length !== 1 || (vlansSeen[0] !== vlanWant && !(a.vlanPriority === null && vlansSeen[0]!.startsWith(`${a.vlanId}:`))))) {
    warnings.push({ code: 'vlan-mismatch', stream: s.key, message: `the SCL gives VLAN ${a.vlanId}${a.vlanPriority !== null ? ` priority ${a.vlanPriority}` : ''}; seen ${o.vlans.map((v, i) => `${vlansSeen[i]} (${v.frames} frames)`).join(', ')}` });
  }
  if (a.dstMac !== null && (o.dstMacs.length !== 1 || o.dstMacs[0]!.mac !== a.dstMac)) {
    warnings.push({ code: 'dst-mac-mismatch', stream: s.key, message: `the SCL gives destination ${a.dstMac}; seen ${o.dstMacs.map((d) => `${d.mac} (${d.frames} frames)`).join(', ')}` });
  }
  if (s.confRev !== null && o.confRev !== s.confRev) {
    warnings.push({ code: 'confrev-mismatch', stream: s.key, message: `the SCL gives confRev ${s.confRev}; most frames carry ${o.confRev}` });
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
      conflicts.push(`${key}: seen with several source MACs (${p.acceptedSourceMacs.join(', ')}): not merged; add the merging unit's MAC by hand`);
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
        conflicts.push(`${key}: /streams/${b.configIndex}/acceptedSourceMacs is ${have.join(', ')} but ${p.acceptedSourceMacs.join(', ')} was seen: left as configured`);
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

/** A learn duration: more than 0, at most a week. */
function learnDuration(s: string): number | undefined {
  const v = parseDuration(s);
  return v !== undefined && v > 0 && v <= 7 * 86400 ? v : undefined;
}

async function learnLive(learner: StreamLearner, iface: string, netns: string | undefined, durationS: number): Promise<number> {
  let frames = 0;
  let error: Error | undefined;
  const cap = new LiveCapture({ iface, ...(netns !== undefined ? { netns } : {}) });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, durationS * 1000);
    const stop = (): void => {
      clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    cap.start((b: FrameBatch) => {
      frames += b.count;
      learner.add(b);
    }, (err) => {
      error = err;
      stop();
    });
  });
  await cap.close();
  const st = cap.stats();
  if (st.kernelDrops + st.queueDrops > 0) process.stderr.write(`svde learn: ${st.kernelDrops + st.queueDrops} frames were dropped while learning\n`);
  if (error !== undefined) throw error;
  return frames;
}

export async function learnCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs('learn', HELP, argv, {
    pcap: { type: 'string' },
    iface: { type: 'string' },
    netns: { type: 'string' },
    duration: { type: 'string' },
    scl: { type: 'string' },
    config: { type: 'string' },
    out: { type: 'string' },
    merge: { type: 'string' },
  });
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.values;
  if ((o.pcap === undefined) === (o.iface === undefined)) return fail(`give either --pcap FILE or --iface IFACE\n${HELP}`);
  if (o.pcap !== undefined && (o.duration !== undefined || o.netns !== undefined)) return fail('--duration and --netns go with --iface');

  // SCL and the current configuration.
  let loaded: LoadedConfig | undefined;
  let scl: SclImport;
  try {
    if (o.config !== undefined) {
      loaded = loadConfigFile(o.config, o.scl !== undefined ? { scl: o.scl } : {});
      if (loaded.scl === null) return fail(`${o.config} names no SCL file: give --scl FILE.scd`);
      scl = loaded.scl;
    } else {
      if (o.scl === undefined) return fail('give --scl FILE.scd (the streams to learn the source MACs of)');
      scl = importSclFile(o.scl);
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SclParseError) return fail(err.message, 1);
    throw err;
  }
  for (const w of scl.warnings) process.stderr.write(`svde learn: ${scl.file}:${w.line ?? '?'}: warning [${w.code}] ${w.message}\n`);

  // The merge target is read (and checked) before learning, so a live run is not wasted on a bad file.
  let mergeRaw: Record<string, unknown> | undefined;
  if (o.merge !== undefined) {
    try {
      const v = JSON.parse(readFileSync(o.merge, 'utf8')) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`--merge: ${o.merge}: the configuration must be a JSON object`, 1);
      mergeRaw = v as Record<string, unknown>;
      bindConfig(parseConfig(mergeRaw, o.merge), scl, o.merge);
    } catch (err) {
      if (err instanceof ConfigError) return fail(err.message, 1);
      return fail(`--merge: ${o.merge}: ${(err as Error).message}`, 1);
    }
  }

  const learner = new StreamLearner();
  let frames = 0;
  let source: LearnProposal['source'];
  if (o.pcap !== undefined) {
    source = { pcap: o.pcap };
    try {
      for (const b of readCaptureFile(o.pcap)) {
        frames += b.count;
        learner.add(b);
      }
    } catch (err) {
      return fail((err as Error).message, 1);
    }
  } else {
    const durationS = o.duration !== undefined ? learnDuration(o.duration) : (loaded?.config.learn.durationS ?? 60);
    if (durationS === undefined) return fail(`--duration: cannot parse "${o.duration}" (use e.g. 60, 30s, 5m; at most 7 days)`);
    source = { iface: o.iface!, durationS };
    process.stderr.write(`svde learn: learning on ${o.iface} for ${durationS} s\n`);
    try {
      frames = await learnLive(learner, o.iface!, o.netns, durationS);
    } catch (err) {
      return fail(`--iface ${o.iface}: ${(err as Error).message}`, 1);
    }
  }

  const proposal = buildProposal(learner, scl, source, frames, loaded);
  const text = `${JSON.stringify(proposal, null, 2)}\n`;
  if (o.out !== undefined) writeFileSync(o.out, text);
  else if (o.merge === undefined) process.stdout.write(text);
  process.stderr.write(`svde learn: ${frames} frames, ${proposal.observed.length} streams seen, ${proposal.streams.length} proposed, ${proposal.warnings.length} warnings\n`);
  for (const w of proposal.warnings) process.stderr.write(`svde learn: warning [${w.code}] ${w.stream}: ${w.message}\n`);

  if (o.merge !== undefined) {
    let m: MergeResult;
    try {
      m = mergeProposal(o.merge, mergeRaw!, scl, proposal);
    } catch (err) {
      if (err instanceof ConfigError) return fail(`the merged configuration does not load: ${err.message}`, 1);
      throw err;
    }
    process.stdout.write(`${JSON.stringify(m.config, null, 2)}\n`);
    for (const n of m.notes) process.stderr.write(`svde learn: merge: ${n}\n`);
    for (const c of m.conflicts) process.stderr.write(`svde learn: merge: NOT MERGED: ${c}\n`);
    if (m.conflicts.length > 0) return 3;
  }
  return 0;
}
