// The one place that loads the native addon, lazily: loadNative() loads it on first call (once per module
// instance: main thread or worker) and checks its tables against src/native/layout.ts. Importing
// src/native (or detection) never loads it; only the functions and classes that run native code call
// loadNative(), and those take an optional binding so tests can pass their own.
//
// SVDE_NATIVE=off makes loadNative() throw as if the addon were not built (tests prove that detection and
// everything else that needs no native code runs without it).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBindingTables, type BatchLayout } from './layout.ts';

export interface NativeCaptureStats {
  received: number;
  kernelDrops: number;
  ifDrops: number;
  captured: number;
  delivered: number;
  batches: number;
  queueDrops: number;
  decodeErrors: number;
  linkUp: boolean;
  kernelLag?: Float64Array;
  error?: string;
}

export interface NativeSenderStats {
  sent: number;
  errors: number;
  lateMaxNs: number;
  lateP99Ns: number;
  lastError?: string;
}

export interface NativeLiveCaptureOptions {
  iface: string;
  netns?: string;
  filter?: string;
  bufferBytes?: number;
  snaplen?: number;
  flushMicros?: number;
  maxQueuedBatches?: number;
  batchFrames?: number;
  promisc?: boolean;
}

export interface NativeSenderOptions {
  iface: string;
  netns?: string;
  maxQueuedFrames?: number;
  spinNs?: number;
}

export interface NativeOfflineReader {
  next(): ArrayBuffer | null;
  close(): void;
}

export interface NativeLiveCapture {
  start(onBatch: (batch: ArrayBuffer) => void, onError?: (message: string) => void): void;
  stats(): NativeCaptureStats;
  close(): Promise<void>;
}

export interface NativeSender {
  send(frames: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, departNs: BigInt64Array): Promise<void>;
  drain(): Promise<NativeSenderStats>;
  stats(): NativeSenderStats;
  close(): void;
}

/** What the .node exports (native/addon.cc Init). */
export interface NativeBinding {
  OfflineReader: new (path: string, batchFrames?: number) => NativeOfflineReader;
  LiveCapture: new (opts: NativeLiveCaptureOptions) => NativeLiveCapture;
  Sender: new (opts: NativeSenderOptions) => NativeSender;
  realtimeNs(): bigint;
  sdNotify(socketPath: string, state: string): string;
  monotonicNs(): bigint;
  batchLayout(): BatchLayout;
  statusNames(): string[];
  warningNames(): string[];
  decodeBench(path: string, rounds?: number): DecodeBenchResult;
  /** Knobs of the calling thread: '' on success, else the reason (native/rt_knobs.h). */
  rtKnob(name: 'affinity', cpus: number[]): string;
  rtKnob(name: 'fifo', priority: number): string;
  rtKnob(name: 'tid'): number;
  rtKnob(name: 'cpus'): number[];
  Sm2Key: new (pub: Uint8Array) => NativeSm2Key;
  readonly defaultFilter: string;
}

/** An SM2 public key held by the addon (Node's bundled OpenSSL). */
export interface NativeSm2Key {
  /** r‖s (64 bytes) over msg, with e = SM3(Z_A ‖ msg) and Z_A from the signer ID. */
  verify(msg: Uint8Array, rs: Uint8Array, id: string): boolean;
}

/** C++-only decode of every frame of a capture held in memory (no JS per frame). */
export interface DecodeBenchResult {
  frames: number;
  asdus: number;
  errors: number;
  medianNs: number;
  minNs: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function requireAddon(): NativeBinding {
  const candidates = ['build/Release/svde_native.node', 'build/Debug/svde_native.node'].map((p) => path.join(repoRoot, p));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(
      `svde native addon is not built (looked for ${candidates.join(', ')}): run npm install (needs libpcap-dev and a C++ compiler)`,
    );
  }
  const require = createRequire(import.meta.url);
  try {
    return require(found) as NativeBinding;
  } catch (err) {
    throw new Error(`svde native addon ${found} failed to load: ${(err as Error).message}; run npm install to rebuild it`, {
      cause: err,
    });
  }
}

let loaded: NativeBinding | undefined;

/**
 * The native addon, loaded on the first call and then memoised. Throws when it is not built, does not
 * load, was turned off (SVDE_NATIVE=off), or its batch layout / status names / warning names differ
 * from src/native/layout.ts (the error names the first difference).
 */
export function loadNative(): NativeBinding {
  if (loaded !== undefined) return loaded;
  if (process.env['SVDE_NATIVE'] === 'off') {
    throw new Error('svde native addon is turned off (SVDE_NATIVE=off)');
  }
  const b = requireAddon();
  checkBindingTables(b);
  loaded = b;
  return b;
}
