// Evidence export for `svde export` and the API: the raw frames of an alarm as pcap, and their samples as
// COMTRADE, decoded by the same native decoder as live capture (through a temporary pcap file).
import { SvdeError } from '../model/errors.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCaptureFile } from '../native/index.ts';
import type { AlarmRecord, EvidenceFrame, EvidenceStreamInfo, StoreReader } from '../model/records.ts';
import { buildComtrade, type ComtradeChannel, type ComtradeFormat, type ComtradeSample } from './comtrade.ts';
import { pcapBytes } from './pcap.ts';
import type { ExpectedStream } from '../model/streams.ts';
import { streamInfoOf } from '../evidence/recorder.ts';

export class ExportError extends SvdeError {
  readonly code = 'EXPORT';
  override name = 'ExportError';
}

/** The alarm's evidence as a pcap file (bytes); undefined when there is no such alarm. Throws ExportError when it has no frames. */
export function exportPcap(store: StoreReader, alarmId: number): Uint8Array | undefined {
  const alarm = store.getAlarm(alarmId);
  if (alarm === undefined) return undefined;
  const frames = store.evidenceFrames(alarmId);
  if (frames.length === 0) throw new ExportError(`alarm ${alarmId} has no evidence frames`);
  return pcapBytes(frames);
}

export interface ComtradeOptions {
  format: ComtradeFormat;
  /** Channel names to keep (default all). */
  channels?: readonly string[];
  station?: string;
  device?: string;
  /** The configured streams: their channel table and rates when the store has none for the alarm's stream. */
  streams?: readonly ExpectedStream[];
}

export interface ComtradeExport {
  cfg: string;
  dat: Uint8Array;
  cff: Uint8Array;
  /** Samples written, frames skipped (not decodable or of another channel layout). */
  samples: number;
  skippedFrames: number;
}

/** 9-2LE PhsMeas1 (IA IB IC IN VA VB VC VN) when the stream's channels were not saved. */
const DEFAULT_8: ComtradeChannel[] = [
  ...(['A', 'B', 'C', 'N'] as const).map((p) => ({ name: `I${p}`, kind: 'current' as const, phase: p, scale: 0.001 })),
  ...(['A', 'B', 'C', 'N'] as const).map((p) => ({ name: `V${p}`, kind: 'voltage' as const, phase: p, scale: 0.01 })),
];

export interface DecodedEvidence {
  samples: ComtradeSample[];
  smpRate: number | undefined;
  smpSynchAll: boolean;
  skippedFrames: number;
  channelCount: number;
}

/** Decodes evidence frames with the native decoder; one sample per ASDU carrying 9-2LE value/quality pairs. */
export function decodeEvidence(frames: readonly EvidenceFrame[], samplesPerSecond?: number): DecodedEvidence {
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-export-'));
  const file = path.join(dir, 'evidence.pcap');
  try {
    writeFileSync(file, pcapBytes(frames));
    const samples: ComtradeSample[] = [];
    let skipped = 0;
    let smpRate: number | undefined;
    let synchAll = true;
    let channelCount = -1;
    const periodNs = samplesPerSecond !== undefined && samplesPerSecond > 0 ? BigInt(Math.round(1e9 / samplesPerSecond)) : 0n;
    for (const b of readCaptureFile(file)) {
      for (let i = 0; i < b.count; i++) {
        if (!b.ok(i) || b.asduCount(i) === 0) {
          skipped++;
          continue;
        }
        const ts = b.tsNs(i);
        const first = b.asduStart(i);
        const n = b.asduCount(i);
        let usable = true;
        for (let k = 0; k < n; k++) {
          const v = b.values(first + k);
          if (v === undefined || (channelCount !== -1 && v.length !== channelCount)) {
            usable = false;
            break;
          }
          if (channelCount === -1) channelCount = v.length;
        }
        if (!usable) {
          skipped++;
          continue;
        }
        for (let k = 0; k < n; k++) {
          const j = first + k;
          smpRate ??= b.smpRate(j);
          if ((b.smpSynch(j) ?? 0) === 0) synchAll = false;
          // The frame leaves with its last ASDU: earlier ASDUs were sampled one period apart before it.
          samples.push({
            tNs: ts - BigInt(n - 1 - k) * periodNs,
            values: Int32Array.from(b.values(j)!),
            quality: Uint32Array.from(b.quality(j)!),
          });
        }
      }
    }
    return { samples, smpRate, smpSynchAll: synchAll, skippedFrames: skipped, channelCount: Math.max(channelCount, 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function channelsFor(info: EvidenceStreamInfo | undefined, count: number): ComtradeChannel[] {
  if (info?.channels !== undefined && info.channels.length === count) {
    return info.channels.map((c) => ({
      name: c.name,
      kind: c.kind,
      phase: c.phase,
      scale: c.scale,
      ...(c.offset !== undefined ? { offset: c.offset } : {}),
    }));
  }
  if (count === 8) return DEFAULT_8;
  // Unknown layout: raw values as currents of unit scale, named by position.
  return Array.from({ length: count }, (_, k) => ({ name: `ch${k + 1}`, kind: 'current' as const, phase: '', scale: 1 }));
}

/**
 * The alarm's samples as COMTRADE 2013. Undefined when there is no such alarm; ExportError when it has no
 * evidence or no decodable samples, or a requested channel does not exist.
 */
export function exportComtrade(store: StoreReader, alarmId: number, opts: ComtradeOptions): ComtradeExport | undefined {
  const alarm: AlarmRecord | undefined = store.getAlarm(alarmId);
  if (alarm === undefined) return undefined;
  const frames = store.evidenceFrames(alarmId);
  if (frames.length === 0) throw new ExportError(`alarm ${alarmId} has no evidence frames`);
  const info = store.streamInfo?.(alarm.stream) ?? (opts.streams !== undefined ? streamInfoOf(opts.streams)(alarm.stream) : undefined);
  const nominalHz = info?.nominalHz ?? 50;
  let fs = info?.samplesPerSecond;
  let dec = decodeEvidence(frames, fs);
  if (dec.samples.length === 0)
    throw new ExportError(`alarm ${alarmId}: none of the ${frames.length} evidence frames carries 9-2LE samples`);
  if (fs === undefined) {
    // 9-2LE sends smpRate as samples per nominal period; decode again so multi-ASDU frames get their times.
    fs = dec.smpRate !== undefined ? (dec.smpRate <= 400 ? dec.smpRate * nominalHz : dec.smpRate) : 4000;
    dec = decodeEvidence(frames, fs);
  }
  let channels = channelsFor(info, dec.channelCount);
  let samples = dec.samples;
  if (opts.channels !== undefined && opts.channels.length > 0) {
    const idx = opts.channels.map((n) => {
      const k = channels.findIndex((c) => c.name === n);
      if (k < 0) throw new ExportError(`no channel '${n}' in stream ${alarm.stream} (channels: ${channels.map((c) => c.name).join(', ')})`);
      return k;
    });
    channels = idx.map((k) => channels[k]!);
    samples = samples.map((s) => ({
      tNs: s.tNs,
      values: Int32Array.from(idx, (k) => s.values[k]!),
      quality: Uint32Array.from(idx, (k) => s.quality[k]!),
    }));
  }
  const rec = buildComtrade({
    station: opts.station ?? info?.station ?? 'SVDE',
    device: opts.device ?? info?.device ?? `alarm ${alarmId} ${alarm.indicator}`,
    component: alarm.stream,
    channels,
    samples,
    samplesPerSecond: fs,
    nominalHz,
    triggerNs: BigInt(alarm.firstTsNs),
    format: opts.format,
    tmqCode: dec.smpSynchAll ? '0' : 'F',
  });
  return { cfg: rec.cfg, dat: rec.dat, cff: rec.cff, samples: samples.length, skippedFrames: dec.skippedFrames };
}
