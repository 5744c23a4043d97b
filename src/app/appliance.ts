// The main thread's composition root: it starts the real-time thread (capture, decode, detection:
// src/realtime/worker.ts), answers its signature verifications (chip or software), and wires what follows its verdicts — the alarm journal into the evidence store,
// the indicator board and νn, the LED, syslog, the API with the local panel, and systemd. Every component
// stays ignorant of the others; this file only passes alarms, reports and read functions between them (helpers: wiring.ts, reports.ts).
import { mkdirSync } from 'node:fs';
import { realtimeNs, type FrameBatch } from '../native/index.ts';
import type { MonitorReport } from '../capture/stream-monitor.ts';
import type { ExpectedStream } from '../model/streams.ts';
import type { Alarm } from '../model/indicators.ts';
import { IndicatorBoard } from '../detect/indicators.ts';
import { UpstreamInputError } from '../detect/upstream.ts';
import type { DetectionReport } from '../detect/engine.ts';
import { Device, alarmRecordOf } from './device.ts';
import { SystemdNotifier } from './systemd.ts';
import { AlarmJournal } from './journal.ts';
import { RealtimeTracker, tickHandler } from './reports.ts';
import { installTestHooks, knobsOf, restoredFrom, startApi, startSource } from './wiring.ts';
import { EvidenceStore } from '../store/store.ts';
import { TokenStore, type Role } from '../api/tokens.ts';
import { LedDriver, ledPatternOf } from '../led/led.ts';
import type { BoardProfile } from '../config/board.ts';
import type { SignedStream } from '../model/signature.ts';
import type { LogicOptions } from '../detect/stages/logic.ts';
import type { RateOptions } from '../detect/stages/rate.ts';
import { storedFaultLibrary } from '../store/fault-library.ts';
import { seedEntries } from '../detect/history/seed.ts';
import { SyslogSender } from '../notify/syslog.ts';
import { startVerification, type Verification } from '../crypto/verification.ts';
import { RealtimeCore, RealtimeRequestError, type RealtimeReady } from '../realtime/host.ts';
import { LatencyHistogram } from '../capture/histogram.ts';
import type { TickReport } from '../realtime/protocol.ts';

export const VERSION = '0.2.0';

/** What a frame source (the demo's simulated bay) is handed: where replayed batches go, scenario names. */
export interface FrameSourceContext {
  /** Batches replayed inside this process (their timestamps are file time, not arrival time). */
  feed(b: FrameBatch): void;
  /** The scripted scenario now playing (status, monitor, event log). */
  onScenario(name: string): void;
}

/** A frame source other than a configured interface; the appliance starts and stops it. */
export interface FrameSource {
  /** Capture live on this interface (the appliance opens it before start()); absent: frames come through feed(). */
  iface?: string;
  /** What the capture health names as its interface when frames come through feed(). */
  label: string;
  start(): void;
  /** Stops the frames (before the capture closes). */
  stop(): Promise<void> | void;
  /** Releases what is left (e.g. a test bed) once everything else has stopped. */
  close?(): Promise<void> | void;
}

export interface ApplianceOptions {
  mode: 'demo' | 'live';
  streams: ExpectedStream[];
  /** Streams configured as SM2-signed (their key ids). */
  signed?: SignedStream[];
  /** Protocol-logic options (the demo's publisher is a process on a shared machine: wider timing tolerances). */
  logic?: LogicOptions;
  rate?: RateOptions;
  /** Live: the process-bus interface. */
  iface?: string;
  /** Demo: where the frames come from (tools/demo wires the simulated bay). */
  source?: (ctx: FrameSourceContext) => FrameSource | Promise<FrameSource>;
  stateDir: string;
  /** The configuration file it was started from: engineers may replace it through the API (applied at restart). */
  configFile?: string;
  storage: { path: string; limitBytes: number; alarmRetentionDays: number; eventRetentionDays: number };
  http: {
    host: string;
    port: number;
    tls?: { certPem: string; keyPem: string; clientCaPem?: string };
    tokensFile: string;
    rateLimit?: { max: number; windowMs: number };
    trustLoopbackAs?: Role;
  };
  signatures: {
    keysDir?: string;
    chip?: { path: string; baudRate: number };
    fallback: 'software' | 'none';
    deviceKeyFile: string;
  };
  /** Board profile: LED and relay lines, the real-time thread's knobs (the capture interface and chip port are resolved by the caller). */
  board?: BoardProfile;
  syslog?: { host: string; port: number; transport: 'udp' | 'tcp'; appName: string };
  log: (line: string) => void;
  /** Every alarm as it is raised (the CLI prints them). */
  onAlarm?: (a: Alarm, storeId: number) => void;
  /** Once a second: the monitor's report and νn (the CLI prints it). */
  onReport?: (r: MonitorReport, nu: 0 | 1) => void;
}

export interface Appliance {
  url: string;
  device: Device;
  store: EvidenceStore;
  core: RealtimeCore;
  /** νn, the indicators and the alarms raised since the previous call (the CLI's per-second line). */
  report(): DetectionReport;
  close(): Promise<void>;
}

export async function startAppliance(o: ApplianceOptions): Promise<Appliance> {
  const stoppers: Array<() => Promise<void> | void> = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stoppers.reverse()) {
      try {
        await s();
      } catch (err) {
        o.log(`while stopping: ${(err as Error).message}`);
      }
    }
    stoppers.length = 0;
  };
  try {
    return await start(o, stoppers, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function start(o: ApplianceOptions, stoppers: Array<() => Promise<void> | void>, stopAll: () => Promise<void>): Promise<Appliance> {
  mkdirSync(o.stateDir, { recursive: true, mode: 0o750 });
  const systemd = new SystemdNotifier();

  // Storage first: everything after it may raise alarms. List queries read committed rows without waiting.
  const store = EvidenceStore.open({
    path: o.storage.path,
    limitBytes: o.storage.limitBytes,
    alarmRetentionDays: o.storage.alarmRetentionDays,
    eventRetentionDays: o.storage.eventRetentionDays,
    consistentReads: false,
  });
  stoppers.push(() => store.close());
  // A crash, kill or power loss may have left alarms open and unacknowledged: end the open ones (saying
  // why) and bring back the latches and counts the store holds.
  const recovered = store.recoverAtStart();
  store.event('start', `svde ${VERSION} started (${o.mode}${o.iface !== undefined ? ` on ${o.iface}` : ''})`, {
    streams: o.streams.length,
  });

  // The indicator board of this thread: fed by the journal in the order the real-time thread raised and
  // ended episodes, so it is the board that thread keeps, plus acknowledgements made here.
  const lastStoreAlarm = new Map<string, number>();
  const board = new IndicatorBoard();
  const { restored, waiting } = restoredFrom(recovered, lastStoreAlarm);
  board.restore(restored);
  if (waiting > 0 || recovered.endedAtRestart.length > 0) {
    o.log(
      `from the previous run: ${waiting} alarm(s) wait for acknowledgement${recovered.endedAtRestart.length > 0 ? `, ${recovered.endedAtRestart.length} left open were ended at restart` : ''}`,
    );
  }

  const journal = new AlarmJournal(store, alarmRecordOf);
  // When each alarm was raised on the real-time thread (wall time), for MTTD/MTTR and verdict→LED; bounded.
  const raisedAt = new Map<number, bigint>();
  const recent: DetectionReport['alarms'] = [];
  let ledDueSince: bigint[] = [];
  const verdictToLed = new LatencyHistogram();
  let device: Device | undefined;
  let ledDue = false;
  const refreshStatus = (): void => {
    // At most once per turn of the event loop: an alarm storm must not recompute the status per alarm.
    if (ledDue) return;
    ledDue = true;
    setImmediate(() => {
      ledDue = false;
      if (device === undefined) return;
      // νn and the LED (which follows status events) change the moment an alarm is raised or ends.
      device.emit({ type: 'status', data: device.status() });
      const now = realtimeNs();
      for (const t of ledDueSince) verdictToLed.record(Number(now - t) / 1000);
      ledDueSince = [];
    });
  };
  const syslog = o.syslog !== undefined ? new SyslogSender(o.syslog) : undefined;
  if (syslog !== undefined) stoppers.push(() => syslog.close());
  let pendingRaise = new Map<number, bigint>();
  journal.subscribe({
    raised(a, rec) {
      board.raise(a);
      lastStoreAlarm.set(a.indicator, rec.id);
      const at = pendingRaise.get(a.id) ?? realtimeNs();
      raisedAt.set(rec.id, at);
      if (raisedAt.size > 20_000) raisedAt.delete(raisedAt.keys().next().value!);
      if (ledDueSince.length < 1024) ledDueSince.push(at);
      if (recent.length < 1000)
        recent.push({ id: rec.id, indicator: a.indicator, grade: a.grade, stream: a.stream, reason: a.reason, frame: a.firstFrame });
      syslog?.alarm(rec);
      device?.emit({ type: 'alarm', data: rec });
      refreshStatus();
      o.onAlarm?.(a, rec.id);
    },
    ended(a, rec) {
      board.clear(a);
      device?.emit({ type: 'alarm-update', data: rec });
      refreshStatus();
    },
  });

  // Signature verification: the chip when configured, else software; the device key signs local estimates.
  // It lives on this thread: the serial binding cannot run on a worker (it polls on the default loop).
  const verification: Verification = await startVerification({
    keyStoreDir: o.signatures.keysDir,
    chip: o.signatures.chip,
    fallback: o.signatures.fallback,
    deviceKeyFile: o.signatures.deviceKeyFile,
    // Protection streams first when the chip is the bottleneck; streams default to protection (config `role`).
    priorityStreams: new Set(o.streams.filter((s) => s.role !== 'metering').map((s) => s.name)),
  });
  stoppers.push(() => verification.close());
  verification.on('state', (h) =>
    store.event('chip-state', `signature verification ${h.state}${h.detail !== null ? `: ${h.detail}` : ''}`),
  );

  // The real-time thread.
  const libraryEntries = storedFaultLibrary(store, seedEntries()).entries();
  // What this thread keeps of the real-time thread's reports; the capture stall counts from now.
  const tracker = new RealtimeTracker(verdictToLed);
  let onTick: (r: TickReport) => void = () => undefined;
  let feedCore: RealtimeCore | undefined;
  const source =
    o.mode === 'demo'
      ? await startSource(
          o,
          store,
          (b) => feedCore?.feed(b.buffer),
          (name) => {
            tracker.scenario = name;
          },
        )
      : undefined;
  const iface = o.mode === 'live' ? o.iface : source?.src.iface;
  if (o.mode === 'live' && iface === undefined) throw new Error('live mode needs a capture interface');
  const mode: 'demo' | 'demo-in-process' | 'live' = o.mode === 'live' ? 'live' : iface !== undefined ? 'demo' : 'demo-in-process';
  const captureIface = iface ?? source?.src.label ?? '';
  tracker.iface = captureIface;
  let fatal: ((m: string) => void) | undefined;
  const core = new RealtimeCore(
    {
      streams: o.streams,
      signed: o.signed ?? [],
      ...(o.logic !== undefined ? { logic: o.logic } : {}),
      ...(o.rate !== undefined ? { rate: o.rate } : {}),
      source: iface !== undefined ? { kind: 'live', iface } : { kind: 'feed' },
      keys: verification.keyTable(),
      library: libraryEntries,
      knobs: knobsOf(o.board),
      // Live capture time is wall time: an episode whose stream went silent still ends after its hold time.
      expireByWallClock: mode !== 'demo-in-process',
    },
    {
      onAlarms: (items) => {
        for (const it of items) if (it.k === 'raise') pendingRaise.set(it.a.id, it.atNs);
        journal.onAlarms(items);
        pendingRaise = new Map();
      },
      onEvidence: (items) => journal.onEvidence(items),
      onTick: (r) => onTick(r),
      verifier: verification.verifier,
      onCaptureError: (message) => {
        tracker.captureError = message;
        store.event('capture-failed', `capture on ${captureIface} stopped: ${message}`);
        o.log(`capture on ${captureIface} stopped: ${message}`);
        refreshStatus();
      },
      onFatal: (message) => {
        const error = `real-time thread failed: ${message.split('\n')[0]}`;
        tracker.captureError = error;
        store.event('realtime-failed', error);
        o.log(`${error}; the watchdog stops, so systemd restarts the appliance`);
        fatal?.(message);
      },
    },
  );
  feedCore = core;
  stoppers.push(() => core.close());
  let ready: RealtimeReady;
  try {
    ready = await core.ready;
  } catch (err) {
    await source?.src.close?.();
    throw err;
  }
  if (source?.src.close !== undefined) stoppers.push(() => source.src.close!());
  verification.on('keys', (dropped) => {
    for (const k of dropped)
      store.event('key-dropped', `key ${k.keyId} no longer verifies: ${k.status}`, { keyId: k.keyId, status: k.status });
    core.setKeys(verification.keyTable());
  });
  for (const k of ready.knobs) {
    if (!k.applied) o.log(`board knob ${k.name}=${k.requested} not applied: ${k.detail ?? 'refused'}`);
  }
  o.log(`real-time thread ${ready.tid} on CPU ${ready.cpus.join(',')}`);

  // LED and relay (absent without GPIO: the appliance runs on, the panel shows the pattern).
  const ledDriver = await LedDriver.open(
    o.board ??
      ({
        gpio: { ledGreen: null, ledRed: null, alarmRelay: null, activeLow: false, relayCloses: 'nu', heartbeatDuringAlarm: true },
      } as BoardProfile),
  );
  stoppers.push(() => ledDriver.close());

  const tokens = TokenStore.open(o.http.tokensFile);
  device = new Device({
    mode,
    version: VERSION,
    store,
    board: () => board,
    lastAlarmId: (indicator) => lastStoreAlarm.get(indicator) ?? null,
    configured: o.streams,
    monitorReport: () => tracker.monitorReport(),
    scenario: () => tracker.scenario,
    waveforms: { view: (name) => core.waveform(name) },
    realtime: () => tracker.realtimeView(ready),
    health: {
      capture: () => tracker.captureHealth(),
      chip: () => verification.health(),
      storage: () => {
        const h = store.health();
        return { state: h.state, path: h.path, sizeBytes: h.sizeBytes, limitBytes: h.limitBytes, pending: h.pending, detail: h.lastError };
      },
      led: () => ledDriver.health(),
    },
    ledPattern: (st) => ledPatternOf(st),
    signatureCoverage: (name) => core.signatureCoverage(name),
    estimates: {
      list: (since) => core.localEstimates(since),
      check: async (input) => {
        let r;
        try {
          r = await core.submitMasterEstimate(input);
        } catch (err) {
          if (err instanceof RealtimeRequestError && err.name === 'UpstreamInputError') throw new UpstreamInputError(err.message);
          throw err;
        }
        // The alarm of a forgery or tamper verdict arrived before this answer (one port, in order).
        const storeId = r.alarmId === null ? null : (journal.storeIdOf(r.alarmId) ?? null);
        const result = { ...r, alarmId: storeId };
        store.saveMasterEstimate(input, result);
        return result;
      },
      sign: (msg) => verification.signer.sign(msg),
    },
    nowNs: realtimeNs,
    posture: {
      apiTls: o.http.tls !== undefined,
      mutualTls: o.http.tls?.clientCaPem !== undefined,
      tokensConfigured: () => tokens.list().length > 0,
      raisedNs: (id) => raisedAt.get(id),
    },
  });
  const deviceView = device;
  const url = await startApi(o, deviceView, tokens, store, stoppers);
  // The LED follows one source: the device's status (now, and every status event).
  stoppers.push(ledDriver.follow(deviceView));

  // Ticks count indicator episodes from the restored counts on.
  onTick = tickHandler({ tracker, store, device: deviceView, systemd, counts: board.snapshot(), onReport: o.onReport });

  systemd.ready(`capturing on ${captureIface}; API on ${url}`);
  let rtAlive = true;
  fatal = () => {
    rtAlive = false;
  };
  systemd.startWatchdog(() => rtAlive && tracker.capturing());
  stoppers.push(() => systemd.stopping());
  source?.src.start();
  installTestHooks(o.log, core);

  let closed = false;
  return {
    url,
    device: deviceView,
    store,
    core,
    report: () => {
      const r: DetectionReport = {
        nu: board.nu,
        indicators: board.snapshot(),
        alarms: recent.splice(0),
        restarts: tracker.last?.restarts ?? 0,
      };
      return r;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      // Frames stop first, then the real-time thread ends every open episode (committed through the journal).
      try {
        await source?.src.stop();
      } catch (err) {
        o.log(`while stopping the frame source: ${(err as Error).message}`);
      }
      await core.close();
      store.event('stop', 'svde stopped');
      await stopAll();
    },
  };
}
