// The composition root: the one place that wires capture, detection, signature verification, the evidence
// store, the API with the local panel, the LED, syslog and systemd together. Every component stays ignorant
// of the others; this file only passes batches, alarms and read functions between them.
import { mkdirSync } from 'node:fs';
import { LiveCapture, realtimeNs, type FrameBatch, type LiveCaptureStats } from '../native/index.ts';
import { StreamMonitor, type MonitorReport } from '../capture/stream-monitor.ts';
import { DetectionEngine } from '../detect/engine.ts';
import type { ExpectedStream } from '../model/streams.ts';
import { INDICATORS, type Alarm, type IndicatorId } from '../model/indicators.ts';
import type { RestoredIndicator } from '../detect/indicators.ts';
import { Device, alarmRecordOf } from './device.ts';
import type { HealthView } from '../model/device.ts';
import { SystemdNotifier } from './systemd.ts';
import { WaveformTap } from '../capture/waveforms.ts';
import { EvidenceStore } from '../store/store.ts';
import { EvidenceRecorder, streamInfoOf } from '../evidence/recorder.ts';
import { exportComtrade, exportPcap } from '../export/index.ts';
import { buildApi } from '../api/server.ts';
import { TokenStore, type Role } from '../api/tokens.ts';
import { panelPlugin } from '../panel/plugin.ts';
import { LedDriver, ledPatternOf } from '../led/led.ts';
import type { BoardProfile } from '../config/board.ts';
import type { SignedStream } from '../model/signature.ts';
import type { LogicOptions } from '../detect/stages/logic.ts';
import type { RateOptions } from '../detect/stages/rate.ts';
import { storedFaultLibrary } from '../store/fault-library.ts';
import { SyslogSender } from '../notify/syslog.ts';
import { ConfigurationFile } from '../config/admin.ts';
import { startVerification, type Verification } from '../crypto/verification.ts';

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
  /** Board profile: LED and relay lines (the capture interface and chip port are resolved by the caller). */
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
  detection: DetectionEngine;
  store: EvidenceStore;
  close(): Promise<void>;
}

/** How long capture may stay silent before the watchdog stops pinging (a hung capture thread or event loop). */
const CAPTURE_STALL_NS = 5_000_000_000n;

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
    path: o.storage.path, limitBytes: o.storage.limitBytes, alarmRetentionDays: o.storage.alarmRetentionDays,
    eventRetentionDays: o.storage.eventRetentionDays, consistentReads: false,
  });
  stoppers.push(() => store.close());
  // A crash, kill or power loss may have left alarms open and unacknowledged: end the open ones (saying
  // why) and bring back below the latches and counts the store holds.
  const recovered = store.recoverAtStart();
  store.event('start', `svde ${VERSION} started (${o.mode}${o.iface !== undefined ? ` on ${o.iface}` : ''})`, { streams: o.streams.length });

  // Signature verification: the chip when configured, else software; the device key signs local estimates.
  const verification: Verification = await startVerification({
    keyStoreDir: o.signatures.keysDir,
    chip: o.signatures.chip,
    fallback: o.signatures.fallback,
    deviceKeyFile: o.signatures.deviceKeyFile,
    // Protection streams first when the chip is the bottleneck; streams default to protection (config `role`).
    priorityStreams: new Set(o.streams.filter((s) => s.role !== 'metering').map((s) => s.name)),
  });
  stoppers.push(() => verification.close());
  verification.on('state', (h) => store.event('chip-state', `signature verification ${h.state}${h.detail !== null ? `: ${h.detail}` : ''}`));
  verification.on('keys', (dropped) => {
    for (const k of dropped) store.event('key-dropped', `key ${k.keyId} no longer verifies: ${k.status}`, { keyId: k.keyId, status: k.status });
  });

  // Detection, and what follows an alarm: store, evidence, syslog, live events, LED.
  const syslog = o.syslog !== undefined ? new SyslogSender(o.syslog) : undefined;
  if (syslog !== undefined) stoppers.push(() => syslog.close());
  const storeIds = new Map<number, number>();
  // The newest alarm of each indicator by its store id (the id the API serves); detection numbers its
  // episodes on its own, and those numbers restart with the process.
  const lastStoreAlarm = new Map<string, number>();
  // When each alarm was raised (wall time), for the MTTD/MTTR of the risk report; bounded.
  const raisedAt = new Map<number, bigint>();
  const open = new Map<number, Alarm>();
  let device: Device | undefined;
  let led: LedDriver | undefined;
  let ledDue = false;
  const refreshLed = (): void => {
    // At most once per turn of the event loop: an alarm storm must not recompute the status per alarm.
    if (ledDue) return;
    ledDue = true;
    setImmediate(() => {
      ledDue = false;
      if (device === undefined) return;
      // νn and the LED change the moment an alarm is raised or ends, not at the next second's tick.
      const st = device.status();
      led?.update(st);
      device.emit({ type: 'status', data: st });
    });
  };
  const recorder = new EvidenceRecorder({ store, streamInfo: streamInfoOf(o.streams) });
  const detection = new DetectionEngine(o.streams, {
    verifier: verification.verifier,
    signed: o.signed ?? [],
    library: storedFaultLibrary(store),
    ...(o.logic !== undefined ? { logic: o.logic } : {}),
    ...(o.rate !== undefined ? { rate: o.rate } : {}),
    onAlarm(a: Alarm) {
      const id = store.alarmRaised(a);
      storeIds.set(a.id, id);
      lastStoreAlarm.set(a.indicator, id);
      raisedAt.set(id, realtimeNs());
      if (raisedAt.size > 20_000) raisedAt.delete(raisedAt.keys().next().value!);
      open.set(a.id, a);
      recorder.onAlarm(id, a);
      const rec = alarmRecordOf(id, a, false);
      syslog?.alarm(rec);
      device?.emit({ type: 'alarm', data: rec });
      refreshLed();
      o.onAlarm?.(a, id);
    },
    onAlarmEnd(a: Alarm) {
      const id = storeIds.get(a.id);
      open.delete(a.id);
      if (id === undefined) return;
      store.alarmUpdated(id, a, true);
      device?.emit({ type: 'alarm-update', data: alarmRecordOf(id, a, true) });
      refreshLed();
    },
  });

  const restored: Partial<Record<IndicatorId, RestoredIndicator>> = {};
  let waiting = 0;
  for (const id of INDICATORS) {
    const r = recovered.indicators[id];
    if (r === undefined) continue;
    restored[id] = { count: r.count, latched: r.unacknowledged > 0 };
    if (r.lastUnacknowledgedId !== null) lastStoreAlarm.set(id, r.lastUnacknowledgedId);
    waiting += r.unacknowledged;
  }
  detection.pipeline.board.restore(restored);
  if (waiting > 0 || recovered.endedAtRestart.length > 0) {
    o.log(`from the previous run: ${waiting} alarm(s) wait for acknowledgement${recovered.endedAtRestart.length > 0 ? `, ${recovered.endedAtRestart.length} left open were ended at restart` : ''}`);
  }

  const monitor = new StreamMonitor();
  const waveforms = new WaveformTap(o.streams);
  let lastBatchNs = realtimeNs();
  const onBatch = (b: FrameBatch, live: boolean): void => {
    lastBatchNs = realtimeNs();
    monitor.onBatch(b, live ? lastBatchNs : undefined);
    // Evidence first: the alarm's own frame is then already in the pre-trigger ring.
    recorder.onBatch(b, detection.streamOf);
    detection.onBatch(b);
    waveforms.onBatch(b);
  };

  // Capture source. Sources stop first at shutdown (their stoppers run before the rest).
  const sources: Array<() => Promise<void> | void> = [];
  let scenario: string | null = null;
  let captureStats: (() => LiveCaptureStats) | undefined;
  let captureIface = o.iface ?? '';
  let captureError: string | null = null;
  let mode: 'demo' | 'demo-in-process' | 'live' = o.mode;
  const startLiveCapture = (iface: string): void => {
    const cap = new LiveCapture({ iface });
    cap.start((b) => onBatch(b, true), (err) => {
      captureError = err.message;
      store.event('capture-failed', `capture on ${iface} stopped: ${err.message}`);
      o.log(`capture on ${iface} stopped: ${err.message}`);
      refreshLed();
    });
    captureStats = () => cap.stats();
    monitor.attachCapture(captureStats);
    sources.push(() => cap.close());
  };
  if (o.mode === 'live') {
    if (o.iface === undefined) throw new Error('live mode needs a capture interface');
    startLiveCapture(o.iface);
  } else {
    if (o.source === undefined) throw new Error('demo mode needs a frame source');
    const src = await o.source({
      feed: (b) => onBatch(b, false),
      onScenario: (name) => {
        scenario = name;
        monitor.setScenario(name);
        store.event('demo-scenario', `demo scenario ${name}`);
      },
    });
    if (src.close !== undefined) stoppers.push(() => src.close!());
    if (src.iface !== undefined) {
      captureIface = src.iface;
      startLiveCapture(src.iface);
    } else {
      mode = 'demo-in-process';
      captureIface = src.label;
    }
    sources.push(() => src.stop());
    src.start();
  }

  // LED and relay (absent without GPIO: the appliance runs on, the panel shows the pattern).
  led = await LedDriver.open(o.board ?? { gpio: { ledGreen: null, ledRed: null, alarmRelay: null, activeLow: false, relayCloses: 'nu', heartbeatDuringAlarm: true } });
  const ledDriver = led;
  stoppers.push(() => ledDriver.close());

  let lastReport: MonitorReport | undefined;
  const captureHealth = (): HealthView['capture'] => {
    const st = captureStats?.();
    const stalled = captureStats !== undefined && realtimeNs() - lastBatchNs > CAPTURE_STALL_NS;
    const linkDown = st !== undefined && !st.linkUp;
    return {
      state: captureError !== null ? 'failed' : linkDown || stalled ? 'degraded' : 'ok',
      iface: captureIface,
      received: st?.received ?? 0,
      kernelDrops: st?.kernelDrops ?? 0,
      ifDrops: st?.ifDrops ?? 0,
      queueDrops: st?.queueDrops ?? 0,
      latencyP99Us: lastReport?.latencyMs !== undefined ? Math.round(lastReport.latencyMs.p99 * 1000) : null,
      detail: captureError ?? (linkDown ? 'link down' : stalled ? 'no frames for 5 s' : null),
    };
  };
  const savedEstimates = new Set<string>();
  const tokens = TokenStore.open(o.http.tokensFile);
  device = new Device({
    mode,
    version: VERSION,
    store,
    board: () => detection.pipeline.board,
    lastAlarmId: (indicator) => lastStoreAlarm.get(indicator) ?? null,
    configured: o.streams,
    monitorReport: () => lastReport,
    scenario: () => scenario,
    waveforms,
    health: {
      capture: captureHealth,
      chip: () => verification.health(),
      storage: () => {
        const h = store.health();
        return { state: h.state, path: h.path, sizeBytes: h.sizeBytes, limitBytes: h.limitBytes, pending: h.pending, detail: h.lastError };
      },
      led: () => ledDriver.health(),
    },
    ledPattern: (st) => ledPatternOf(st),
    signatureCoverage: (name) => detection.signatureCoverage(name),
    estimates: {
      list: (since) => detection.localEstimates(since),
      check: (input) => {
        const r = detection.submitMasterEstimate(input);
        const storeId = r.alarmId === null ? null : storeIds.get(r.alarmId) ?? null;
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

  // API and panel.
  const markExported = (id: number): void => {
    store.markExported(id).catch((err: unknown) => { o.log(`alarm ${id}: marking its evidence exported failed: ${(err as Error).message}`); });
  };
  const api = await buildApi({
    device: deviceView,
    tokens,
    evidence: {
      // Marking exported is committed by the writer thread after the download is served; should it fail,
      // the alarm merely stays protected from retention.
      pcap: (id) => {
        const b = exportPcap(store, id);
        if (b !== undefined) markExported(id);
        return b;
      },
      comtrade: (id, format) => {
        const c = exportComtrade(store, id, { format, streams: o.streams });
        if (c !== undefined) markExported(id);
        return c;
      },
    },
    ...(o.http.tls !== undefined ? { tls: o.http.tls } : {}),
    ...(o.http.rateLimit !== undefined ? { rateLimit: o.http.rateLimit } : {}),
    ...(o.http.trustLoopbackAs !== undefined ? { trustLoopbackAs: o.http.trustLoopbackAs } : {}),
    plugins: [panelPlugin({})],
    ...(o.configFile !== undefined
      ? { configuration: new ConfigurationFile(o.configFile, (by, sha256, previous) => store.event('config-changed', `configuration file changed by ${by}; applied at the next start`, { by, sha256, previous })) }
      : {}),
  });
  stoppers.push(() => api.close());
  const address = await api.listen({ host: o.http.host, port: o.http.port });
  const url = address.replace('[::1]', 'localhost');
  const unfollow = ledDriver.follow(deviceView);
  stoppers.push(unfollow);

  // Once a second: reports, live events, counters, open alarms, capture loss, local estimates.
  let lastDrops = 0;
  // Starts from the restored counts: a sample holds only what happened in its interval.
  const lastCounts: Record<string, number> = {};
  for (const [k, v] of Object.entries(detection.pipeline.board.snapshot())) lastCounts[k] = v.count;
  const tick = (): void => {
    lastReport = monitor.report();
    const c = lastReport.capture;
    const drops = (c?.kernelDrops ?? 0) + (c?.ifDrops ?? 0) + (c?.queueDrops ?? 0);
    const dropsBefore = lastDrops;
    if (drops > lastDrops) {
      detection.setCaptureDrops(drops);
      store.event('capture-loss', `${drops - lastDrops} frames lost by the capture (not by the network)`, { total: drops });
    }
    lastDrops = drops;
    // Live capture time is wall time: an episode whose stream went silent still ends after its hold time.
    if (mode !== 'demo-in-process') detection.pipeline.alarms.expire(realtimeNs());
    for (const a of open.values()) {
      const id = storeIds.get(a.id);
      if (id !== undefined) store.alarmUpdated(id, a, false);
    }
    for (const e of detection.localEstimates()) {
      if (savedEstimates.has(e.id)) continue;
      savedEstimates.add(e.id);
      store.saveLocalEstimate(e);
    }
    if (savedEstimates.size > 10_000) savedEstimates.clear();
    const status = deviceView.status();
    // Counter samples hold what happened in the interval (the cumulative counters are in the status).
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(status.indicators)) {
      if (v.count > (lastCounts[k] ?? 0)) counts[k] = v.count - (lastCounts[k] ?? 0);
      lastCounts[k] = v.count;
    }
    store.counterSample({ tsNs: realtimeNs().toString(), counts, frames: Math.round(lastReport.framesPerS * lastReport.intervalS), lost: drops - dropsBefore });
    deviceView.tick();
    o.onReport?.(lastReport, status.nu);
    systemd.status(`νn=${status.nu}, ${lastReport.framesPerS} frames/s from ${lastReport.streams.length} streams, LED ${status.led}`);
  };
  const timer = setInterval(tick, 1000);
  stoppers.push(() => clearInterval(timer));

  systemd.ready(`capturing on ${captureIface}; API on ${url}`);
  systemd.startWatchdog(() => captureError === null && realtimeNs() - lastBatchNs < CAPTURE_STALL_NS);
  stoppers.push(() => systemd.stopping());

  let closed = false;
  return {
    url,
    device: deviceView,
    detection,
    store,
    close: async () => {
      if (closed) return;
      closed = true;
      // Sources first (no new frames), then every open episode is ended and committed, then the rest.
      for (const s of sources.reverse()) {
        try {
          await s();
        } catch (err) {
          o.log(`while stopping capture: ${(err as Error).message}`);
        }
      }
      detection.pipeline.alarms.flush();
      recorder.close();
      store.event('stop', 'svde stopped');
      await stopAll();
    },
  };
}
