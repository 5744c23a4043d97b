// svde analyze FILE --scl FILE.scd [--baseline CLEAN.pcap] [--config FILE] [--keys DIR] — offline detection
// over a capture (SPEC §4): one JSON line per alarm, then {"summary":{…}}. Grades 1–3 run (rate, MAC,
// signature, logic, trip, badData, faultMatch, attackMatch); grade 4 needs the master station's estimates.
import process from 'node:process';
import { commandArgs } from './args.ts';
import { ConfigError, bindConfig, loadConfigFile, parseConfig, type LoadedConfig } from '../config/load.ts';
import { expectedStreams } from '../config/expected.ts';
import { loadKeyDir, SoftwareVerifier } from '../crypto/software-verifier.ts';
import { StreamLearner } from '../detect/learn.ts';
import { buildStages } from '../detect/engine.ts';
import { Pipeline } from '../detect/pipeline.ts';
import type { SignatureVerifier, SignedStream } from '../model/signature.ts';
import { StreamRegistry } from '../detect/streams.ts';
import { type ExpectedStream } from '../model/streams.ts';
import { INDICATORS, type Alarm, type AlarmCategory } from '../model/indicators.ts';
import { readCaptureFile } from '../native/index.ts';
import { importSclFile } from '../scl/import.ts';
import { SclParseError } from '../scl/xml.ts';
import { epochString } from '../sv/asdu-record.ts';
import { LineWriter } from './line-writer.ts';
import { EvidenceStore } from '../store/store.ts';
import { storedFaultLibrary } from '../store/fault-library.ts';
import { seedEntries } from '../detect/history/seed.ts';
import { EvidenceRecorder, registryStreamOf, streamInfoOf } from '../evidence/recorder.ts';

const HELP = `usage: svde analyze FILE.pcap|.pcapng --scl FILE.scd [--baseline CLEAN.pcap] [--config FILE] [--keys DIR] [--db FILE]

Offline detection over a capture. The expected streams come from the SCL file (and the configuration,
which adds accepted source MACs, signing and settings); --baseline first learns from a capture known to be
clean what commissioning would learn (accepted source MACs per stream, how smpCnt advances, rates). Without
--scl the streams learnt from the baseline are the stream table. --keys DIR holds <keyId>.pem (SPKI public
key) per key and optionally <keyId>.id (signer ID, default 1234567812345678).
Output: one JSON line per alarm ({frame, ts, indicator, grade, stream, reason}), then {"summary":{…}}.
  --db FILE    an evidence store (created if missing): the fault/attack library is read from it, and every
               alarm is stored with its evidence (frames from 1 s before to 1 s after) for svde export;
               alarm lines then carry the store's "alarmId"
  --verdicts   also print every per-frame verdict ({"verdict":{…}}) — for evaluation against ground truth
`;

const fail = (msg: string, code = 2): number => {
  process.stderr.write(`svde analyze: ${msg}\n`);
  return code;
};

export async function analyzeCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs(
    'analyze',
    HELP,
    argv,
    {
      scl: { type: 'string' },
      baseline: { type: 'string' },
      config: { type: 'string' },
      keys: { type: 'string' },
      db: { type: 'string' },
      verdicts: { type: 'boolean', default: false },
    },
    true,
  );
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.values;
  if (parsed.positionals.length !== 1) return fail(`expected exactly one capture file\n${HELP}`);
  if (o.scl === undefined && o.config === undefined && o.baseline === undefined)
    return fail('give --scl FILE.scd (or --config, or at least --baseline CLEAN.pcap)');
  const file = parsed.positionals[0]!;

  // 1. Expected streams: SCL + configuration.
  let loaded: LoadedConfig | undefined;
  try {
    if (o.config !== undefined) loaded = loadConfigFile(o.config, o.scl !== undefined ? { scl: o.scl } : {});
    else if (o.scl !== undefined) {
      const cfg = parseConfig({}, '<defaults>');
      const scl = importSclFile(o.scl);
      for (const w of scl.warnings) process.stderr.write(`svde analyze: ${o.scl}:${w.line ?? '?'}: warning [${w.code}] ${w.message}\n`);
      loaded = { file: '<defaults>', config: cfg, sclFile: o.scl, scl, streams: bindConfig(cfg, scl) };
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SclParseError) return fail(err.message, 1);
    throw err;
  }
  let streams: ExpectedStream[] = [];
  const signed: SignedStream[] = [];
  if (loaded !== undefined) {
    const e = expectedStreams(loaded);
    streams = e.streams;
    for (const n of e.notWatchable) process.stderr.write(`svde analyze: stream ${n.key} (${n.svID}) is not watched: ${n.reason}\n`);
    for (const b of loaded.streams) if (b.signed) signed.push({ stream: b.scl.key, keyId: b.signed.keyId });
    for (const line of nominalWarnings(loaded)) process.stderr.write(`svde analyze: ${line}\n`);
  }

  // 2. Baseline: what commissioning would learn.
  if (o.baseline !== undefined) {
    const learner = new StreamLearner();
    try {
      for (const b of readCaptureFile(o.baseline)) learner.add(b);
    } catch (err) {
      return fail(`--baseline: ${(err as Error).message}`, 1);
    }
    const learnt = learner.propose();
    if (streams.length === 0) {
      streams = learnt;
      if (o.keys !== undefined) for (const [name, keyId] of learner.signingKeys()) signed.push({ stream: name, keyId });
    } else {
      streams = streams.map((s) => {
        const l = learnt.find((x) => x.appId === s.appId && x.svID === s.svID);
        if (l === undefined) return s;
        return {
          ...s,
          acceptedSourceMacs: s.acceptedSourceMacs.length > 0 ? s.acceptedSourceMacs : l.acceptedSourceMacs,
          ...(l.smpCntStep !== undefined ? { smpCntStep: l.smpCntStep } : {}),
          ...(l.smpCntWrap !== undefined && l.smpCntWrap !== s.smpCntWrap
            ? { smpCntWrap: l.smpCntWrap, framesPerSecond: l.framesPerSecond }
            : {}),
        };
      });
    }
    process.stderr.write(
      `svde analyze: baseline ${o.baseline}: ${learnt.length} streams learnt${learner.skipped > 0 ? `, ${learner.skipped} frames not used` : ''}\n`,
    );
  }
  if (streams.length === 0) process.stderr.write('svde analyze: no expected streams: every SV frame will be an unknown stream\n');

  // 3. The pipeline, grade by grade.
  const registry = new StreamRegistry(streams);
  let verifier: SignatureVerifier | undefined;
  if (signed.length > 0) {
    if (o.keys === undefined) return fail('streams are configured as signed: give --keys DIR');
    let keys;
    try {
      keys = loadKeyDir(o.keys);
    } catch (err) {
      return fail(`--keys: ${(err as Error).message}`, 1);
    }
    verifier = new SoftwareVerifier(keys);
  }
  const badData =
    loaded !== undefined
      ? {
          alpha: loaded.config.thresholds.chiSquareAlpha,
          lnrThreshold: loaded.config.thresholds.lnrThreshold,
          model: {
            neutralKirchhoff: loaded.config.measurementModel.neutralKirchhoff,
            bayRedundancy: loaded.config.measurementModel.bayRedundancy,
          },
        }
      : {};
  // Grade 3: the attackMatch stage fingerprints event frames (before the phasor stage); faultMatch judges
  // each event against the built-in seed library and tells the trip stage whether a trip is plausible.
  let store: EvidenceStore | undefined;
  let recorder: EvidenceRecorder | undefined;
  if (o.db !== undefined) {
    try {
      store = EvidenceStore.open({ path: o.db });
    } catch (err) {
      return fail(`--db: ${(err as Error).message}`, 1);
    }
    recorder = new EvidenceRecorder({ store, streamInfo: streamInfoOf(streams) });
    store.event('analyze', `svde analyze ${file}`, { streams: streams.length });
  }
  const built = buildStages(registry, {
    ...(loaded !== undefined ? { rate: { mu: loaded.config.thresholds.rateTolerance } } : {}),
    badData,
    signed,
    ...(verifier !== undefined ? { verifier } : {}),
    ...(store !== undefined ? { library: storedFaultLibrary(store, seedEntries()) } : {}),
  });
  const { stages, signature: sig } = built;
  const attackMatch = built.attackMatch!;
  const faultMatch = built.faultMatch!;

  const out = new LineWriter(process.stdout);
  const alarmsBy: Record<string, number> = {};
  const verdictsBy: Record<string, number> = {};
  const storeIds = new Map<number, number>();
  const onAlarm = (a: Alarm): void => {
    alarmsBy[a.indicator] = (alarmsBy[a.indicator] ?? 0) + 1;
    const line: Record<string, unknown> = {
      frame: a.firstFrame,
      ts: epochString(a.firstTsNs),
      indicator: a.indicator,
      grade: a.grade,
      stream: a.stream,
      reason: a.reason,
    };
    if (store !== undefined) {
      const id = store.alarmRaised(a);
      storeIds.set(a.id, id);
      recorder!.onAlarm(id, a);
      line['alarmId'] = id;
    }
    if (a.detail !== undefined) line['detail'] = a.detail;
    out.line(JSON.stringify(line));
  };
  const pipeline = new Pipeline({
    registry,
    stages,
    alarms: {
      onAlarm,
      onAlarmEnd: (a) => {
        const id = storeIds.get(a.id);
        if (id !== undefined) store!.alarmUpdated(id, a, true);
      },
    },
    onVerdict: (v) => {
      verdictsBy[v.indicator] = (verdictsBy[v.indicator] ?? 0) + 1;
      if (o.verdicts === true)
        out.line(
          JSON.stringify({
            verdict: {
              frame: v.frame,
              ts: epochString(v.tsNs),
              indicator: v.indicator,
              stream: v.stream,
              reason: v.reason,
              ...(v.detail !== undefined ? { detail: v.detail } : {}),
            },
          }),
        );
    },
  });
  try {
    const streamOf = registryStreamOf(registry);
    for (const b of readCaptureFile(file)) {
      recorder?.onBatch(b, streamOf);
      pipeline.processBatch(b);
      await out.flushIfFull();
      if (out.closed) {
        recorder?.close();
        store?.close();
        return 0;
      }
    }
  } catch (err) {
    store?.close();
    return fail((err as Error).message, 1);
  }
  if (sig !== undefined) await sig.drain();
  pipeline.finish();
  recorder?.close();
  store?.close();

  const counts: Partial<Record<AlarmCategory, number>> = {};
  for (const id of [...INDICATORS, 'trip'] as const) counts[id] = alarmsBy[id] ?? 0;
  const summary: Record<string, unknown> = {
    frames: pipeline.stats.frames,
    asdus: pipeline.stats.asdus,
    malformed: pipeline.stats.malformed,
    streams: streams.length,
    alarms: counts,
    verdicts: verdictsBy,
    nu: pipeline.nu,
  };
  if (sig !== undefined) summary['signature'] = { ...sig.counters, coverage: Math.round(sig.coverage * 1e4) / 1e4 };
  summary['history'] = {
    events: faultMatch.eventCount,
    library: faultMatch.library.entries().length,
    replayedFrames: attackMatch.replayFrames,
  };
  // upstreamForgery/upstreamTamper judge a master station's estimates: only the running appliance receives them.
  summary['upstream'] = 'needs a master station (svde run)';
  out.line(JSON.stringify({ summary }));
  await out.end();
  return 0;
}

/**
 * One line per nominal value that neither the configuration nor the SCL states: the pickups derived from it
 * are an assumption, and the user should know which streams are judged on it.
 */
export function nominalWarnings(loaded: LoadedConfig): string[] {
  // Streams with the same assumption share one line.
  const by = new Map<string, string[]>();
  const add = (what: string, key: string): void => {
    by.set(what, [...(by.get(what) ?? []), key]);
  };
  for (const b of loaded.streams) {
    const f = b.protection.nominalFrom;
    if (f.voltage === 'assumed')
      add(
        `nominal voltage assumed ${Math.round(b.protection.nominalVoltageLN)} V phase-to-neutral (${f.voltageDetail}); set protection.nominalVoltageLN or state the VoltageLevel's Voltage in the SCL`,
        b.scl.key,
      );
    if (f.current === 'assumed')
      add(
        `nominal current assumed ${b.protection.nominalCurrentA} A (${f.currentDetail}); set protection.nominalCurrentA or TCTR ARtg in the SCL`,
        b.scl.key,
      );
  }
  return [...by].map(([what, keys]) => `${keys.length === 1 ? 'stream' : 'streams'} ${keys.join(', ')}: ${what}`);
}
