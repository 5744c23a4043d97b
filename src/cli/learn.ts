// svde learn --scl FILE.scd (--pcap FILE | --iface IF [--duration S]) [--config FILE] [--out FILE]
//            [--merge CONFIG] — commissioning learn mode (SPEC §4): from traffic known to be clean, record
// per stream the source MACs (and VLAN, APPID, destination MAC) seen and propose the configuration's
// `streams[].acceptedSourceMacs`, with warnings for what the engineer must decide: streams the SCL does not
// describe, several source MACs for one stream, SCL streams never seen, addressing that differs from the
// SCL, repeated counters (a second publisher in the "clean" capture). A proposal to review, never applied
// by itself; --merge prints a configuration with it merged and leaves every disagreement to the engineer.
import { parseDuration } from '../model/duration.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { commandArgs } from './args.ts';
import { ConfigError, bindConfig, loadConfigFile, parseConfig, type LoadedConfig } from '../config/load.ts';
import { StreamLearner } from '../detect/learn.ts';
import { buildProposal, mergeProposal, type LearnProposal, type MergeResult } from '../detect/commission.ts';
import { LiveCapture, readCaptureFile, type FrameBatch } from '../native/index.ts';
import { importSclFile } from '../scl/import.ts';
import type { SclImport } from '../scl/model.ts';
import { SclParseError } from '../scl/xml.ts';

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
    cap.start(
      (b: FrameBatch) => {
        frames += b.count;
        learner.add(b);
      },
      (err) => {
        error = err;
        stop();
      },
    );
  });
  await cap.close();
  const st = cap.stats();
  if (st.kernelDrops + st.queueDrops > 0)
    process.stderr.write(`svde learn: ${st.kernelDrops + st.queueDrops} frames were dropped while learning\n`);
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
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        return fail(`--merge: ${o.merge}: the configuration must be a JSON object`, 1);
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
  process.stderr.write(
    `svde learn: ${frames} frames, ${proposal.observed.length} streams seen, ${proposal.streams.length} proposed, ${proposal.warnings.length} warnings\n`,
  );
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
