// The wiring helpers of the main thread's root (src/app/appliance.ts): the board's real-time knobs, the
// indicator state restored from the store, the demo's frame source, the API, and the benchmark hooks.
import type { FrameBatch } from '../native/index.ts';
import { INDICATORS, type IndicatorId } from '../model/indicators.ts';
import type { RestoredIndicator } from '../detect/indicators.ts';
import type { Device } from './device.ts';
import type { EvidenceStore } from '../store/store.ts';
import { exportComtrade, exportPcap } from '../export/index.ts';
import { buildApi } from '../api/server.ts';
import type { TokenStore } from '../api/tokens.ts';
import { panelPlugin } from '../panel/plugin.ts';
import type { BoardProfile } from '../config/board.ts';
import { ConfigurationFile } from '../config/admin.ts';
import type { RealtimeCore } from '../realtime/host.ts';
import type { RealtimeKnobs } from '../realtime/protocol.ts';
import type { ApplianceOptions, FrameSource } from './appliance.ts';

/** The board profile's knobs for the real-time thread. */
export function knobsOf(board: BoardProfile | undefined): RealtimeKnobs {
  if (board === undefined) return {};
  const cpu = board.cpu;
  const cpus = cpu.realtimeCores ?? (cpu.captureCore !== null ? [cpu.captureCore] : null);
  return {
    ...(cpus !== null ? { cpus } : {}),
    ...(cpu.fifoPriority !== null ? { fifoPriority: cpu.fifoPriority } : {}),
    ...(cpu.mlockall ? { mlockall: true } : {}),
    ringBytes: board.capture.bufferBytes,
    flushMicros: board.capture.flushMicros,
    ...(cpu.realtimeHeapMb !== null ? { heap: { maxOldGenerationSizeMb: cpu.realtimeHeapMb } } : {}),
  };
}

export function restoredFrom(
  recovered: ReturnType<EvidenceStore['recoverAtStart']>,
  lastStoreAlarm: Map<string, number>,
): { restored: Partial<Record<IndicatorId, RestoredIndicator>>; waiting: number } {
  const restored: Partial<Record<IndicatorId, RestoredIndicator>> = {};
  let waiting = 0;
  for (const id of INDICATORS) {
    const r = recovered.indicators[id];
    if (r === undefined) continue;
    restored[id] = { count: r.count, latched: r.unacknowledged > 0 };
    if (r.lastUnacknowledgedId !== null) lastStoreAlarm.set(id, r.lastUnacknowledgedId);
    waiting += r.unacknowledged;
  }
  return { restored, waiting };
}

/** The demo's frame source; it starts only once the real-time thread is ready, so `feed` has a target. */
export async function startSource(
  o: ApplianceOptions,
  store: EvidenceStore,
  feed: (b: FrameBatch) => void,
  onScenario: (name: string) => void,
): Promise<{ src: FrameSource }> {
  if (o.source === undefined) throw new Error('demo mode needs a frame source');
  const src = await o.source({
    feed,
    onScenario: (name) => {
      onScenario(name);
      store.event('demo-scenario', `demo scenario ${name}`);
    },
  });
  return { src };
}

/** The API with the local panel, listening; returns its URL. */
export async function startApi(
  o: ApplianceOptions,
  device: Device,
  tokens: TokenStore,
  store: EvidenceStore,
  stoppers: Array<() => Promise<void> | void>,
): Promise<string> {
  const markExported = (id: number): void => {
    store.markExported(id).catch((err: unknown) => {
      o.log(`alarm ${id}: marking its evidence exported failed: ${(err as Error).message}`);
    });
  };
  const api = await buildApi({
    device,
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
      ? {
          configuration: new ConfigurationFile(o.configFile, (by, sha256, previous) =>
            store.event('config-changed', `configuration file changed by ${by}; applied at the next start`, { by, sha256, previous }),
          ),
        }
      : {}),
  });
  stoppers.push(() => api.close());
  const address = await api.listen({ host: o.http.host, port: o.http.port });
  return address.replace('[::1]', 'localhost');
}

let hooksInstalled = false;
/**
 * SVDE_TEST_HOOKS=1 (benchmarks and tests only): SIGUSR2 blocks this, the main thread, for SVDE_TEST_STALL_MS
 * (default 100) — a stand-in for a slow API, store or GC pause, which must delay no verdict; SIGUSR1 starts
 * the real-time thread's latency histograms afresh (one benchmark phase at a time).
 */
export function installTestHooks(log: (line: string) => void, core: RealtimeCore): void {
  if (process.env['SVDE_TEST_HOOKS'] !== '1' || hooksInstalled) return;
  hooksInstalled = true;
  const ms = Number(process.env['SVDE_TEST_STALL_MS'] ?? 100);
  process.on('SIGUSR2', () => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      /* stalled on purpose */
    }
  });
  process.on('SIGUSR1', () => core.resetLatency());
  log(`test hooks on: SIGUSR2 stalls the main thread for ${ms} ms, SIGUSR1 resets the latency histograms`);
}
