// The simulator's command line (tools/svde-sim.ts): generate SV traffic (normal and labelled attack
// scenarios) into a pcap/pcapng file with a ground-truth sidecar, or live onto an interface through the
// native sender. A development and test tool: the appliance never loads it.
import { parseDuration } from '../../src/model/duration.ts';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import process from 'node:process';
import { CaptureWriter, formatFromPath } from '../../src/sv/pcap-writer.ts';
import type { CaptureFormat } from '../../src/sv/pcap-writer.ts';
import type { VlanTag } from '../../src/sv/types.ts';
import { CHANNEL_SETS, type ChannelSet } from '../../src/model/channels.ts';
import { importSclFile } from '../../src/scl/import.ts';
import { DEFAULT_OPTIONS, runSimulation } from './engine.ts';
import type { AsyncFrameSink, SimOptions } from './engine.ts';
import { SCENARIOS, findScenario } from './scenarios.ts';
import { defaultSclPath, writeScl } from './scl-writer.ts';
import type { SignMode } from '../../src/crypto/signed-frames.ts';
import { publicKeyToPem } from '../../src/crypto/sm2.ts';

const USAGE = `usage: svde-sim --out FILE.pcap|FILE.pcapng [options]
       svde-sim --iface IFACE [options]       (live, at the true rate)
       svde-sim --list
options:
  --format pcap|pcapng        default from the file extension (pcap otherwise)
  --ts-resolution ns|us       classic pcap timestamp resolution (default ns)
  --duration 10s              run length: 10s, 500ms, 2m or plain seconds (default 10s)
  --mus N                     merging units, in redundant pairs per bay (default 2)
  --freq 50|60                nominal frequency (default 50)
  --samples-per-cycle 80|256  sets the rate to 80·f or 256·f
  --rate N                    samples per second: 4000, 4800, 12800, 14400, 15360, …
  --asdus N                   ASDUs per frame (default 1; 8 at 256 samples/cycle)
  --vlan ID:PCP | none        outer 802.1Q tag (default 123:4)
  --vlan2 ID:PCP              second (inner) tag
  --channels 4i4u|4u4i|4i     channel set (default 4i4u = 9-2LE PhsMeas1), or FILE.scd[#svID] to take
                              the dataset (order, kinds, phases, scaling) of a SampledValueControl of an
                              SCL file (default: its first stream with a current/voltage dataset)
  --smp-synch 0|1|2           smpSynch: none (free-running counters), local, global (default 2)
  --refr-tm                   send refrTm (UtcTime of the sample) in every ASDU
  --scenario NAME             see --list (default normal)
  --sign 1|frame|block:B      SM2-sign every frame (mode 1) or blocks of B frames (modes 2/3)
  --keys DIR                  where <keyId>.pem public keys are written (default <out>.keys)
  --seed N                    deterministic run (default 1)
  --sign-mus 3,4             with --sign: only these merging units (1-based) sign; default all
  --sec-cnt-from-clock        with --sign: secCnt continues from the start time (a publisher restarted
                              with a persistent counter) instead of starting at 1
  --key-seed N                seed of the signing keys only (default: --seed), so keys survive a change of --seed
  --start ISO                 time of the first sample (default 2026-09-21T14:13:20Z), whole seconds
  --truth FILE                ground-truth file (default <out>.truth.json)
  --scl FILE                  SCD describing the simulated MUs (default <out> with .scd; live: only if given)
  --no-scl                    do not write the SCD
  --iface IFACE               send live through the native sender instead of writing a file
  --netns NAME                network namespace of --iface (live output)`;

class ArgError extends Error {}

function simDuration(s: string): number {
  const v = parseDuration(s);
  if (v === undefined) throw new ArgError(`--duration: cannot parse "${s}" (use e.g. 10s, 500ms, 2m)`);
  if (!(v > 0) || v > 86400) throw new ArgError(`--duration must be > 0 and at most 24 h, got "${s}"`);
  return v;
}

function parseIntArg(name: string, s: string, lo: number, hi: number): number {
  if (!/^\d+$/.test(s)) throw new ArgError(`--${name} must be an integer, got "${s}"`);
  const v = Number(s);
  if (v < lo || v > hi) throw new ArgError(`--${name} must be between ${lo} and ${hi}, got ${v}`);
  return v;
}

function parseVlan(name: string, s: string): VlanTag {
  const m = /^(\d+):(\d+)$/.exec(s);
  if (!m) throw new ArgError(`--${name} must be ID:PCP (e.g. 123:4), got "${s}"`);
  const id = Number(m[1]);
  const priority = Number(m[2]);
  if (id > 4095) throw new ArgError(`--${name}: VLAN id must be 0..4095, got ${id}`);
  if (priority > 7) throw new ArgError(`--${name}: priority must be 0..7, got ${priority}`);
  return { id, priority };
}

function parseSign(s: string): SignMode {
  if (s === '1' || s === 'frame') return { kind: 'frame' };
  const m = /^block:(\d+)$/.exec(s);
  if (m) {
    const b = Number(m[1]);
    if (b < 2 || b > 65535) throw new ArgError(`--sign block:B needs 2 ≤ B ≤ 65535, got ${b}`);
    return { kind: 'block', blockLen: b };
  }
  throw new ArgError(`--sign must be 1, frame or block:B (e.g. block:80), got "${s}"`);
}

export interface ParsedSimulateArgs {
  opts: SimOptions;
  scenario: string;
  out?: string;
  format: CaptureFormat;
  resolution: 'us' | 'ns';
  keysDir?: string;
  truth?: string;
  scl?: string;
  iface?: string;
  netns?: string;
  list: boolean;
  help: boolean;
}

export function parseSimulateArgs(argv: string[]): ParsedSimulateArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        out: { type: 'string' },
        format: { type: 'string' },
        'ts-resolution': { type: 'string' },
        duration: { type: 'string' },
        mus: { type: 'string' },
        freq: { type: 'string' },
        'samples-per-cycle': { type: 'string' },
        rate: { type: 'string' },
        asdus: { type: 'string' },
        vlan: { type: 'string' },
        vlan2: { type: 'string' },
        channels: { type: 'string' },
        scenario: { type: 'string' },
        sign: { type: 'string' },
        keys: { type: 'string' },
        seed: { type: 'string' },
        'key-seed': { type: 'string' },
        'sign-mus': { type: 'string' },
        'sec-cnt-from-clock': { type: 'boolean' },
        start: { type: 'string' },
        'smp-synch': { type: 'string' },
        'refr-tm': { type: 'boolean' },
        truth: { type: 'string' },
        scl: { type: 'string' },
        'no-scl': { type: 'boolean' },
        iface: { type: 'string' },
        netns: { type: 'string' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new ArgError((e as Error).message);
  }
  const v = parsed.values;
  const list = v.list ?? false;
  const help = v.help ?? false;
  const opts: SimOptions = { ...DEFAULT_OPTIONS };
  const scenario = v.scenario ?? 'normal';
  if (list || help) return { opts, scenario, format: 'pcap', resolution: 'ns', list, help };
  if (!findScenario(scenario)) throw new ArgError(`--scenario: unknown scenario "${scenario}" (svde-sim --list shows them)`);
  if (v.out && v.iface) throw new ArgError('--out and --iface are exclusive: write a file or send live');
  if (!v.out && !v.iface) throw new ArgError('missing --out FILE (or --iface IFACE for live output)');
  if (v.duration !== undefined) opts.durationS = simDuration(v.duration);
  if (v.mus !== undefined) opts.mus = parseIntArg('mus', v.mus, 1, 128);
  if (v.freq !== undefined) {
    if (v.freq !== '50' && v.freq !== '60') throw new ArgError(`--freq must be 50 or 60, got "${v.freq}"`);
    opts.freq = Number(v.freq);
  }
  let spc: number | null = null;
  if (v['samples-per-cycle'] !== undefined) {
    if (v['samples-per-cycle'] !== '80' && v['samples-per-cycle'] !== '256')
      throw new ArgError(`--samples-per-cycle must be 80 or 256, got "${v['samples-per-cycle']}"`);
    spc = Number(v['samples-per-cycle']);
  }
  if (v.rate !== undefined) {
    opts.samplesPerSecond = parseIntArg('rate', v.rate, 100, 100_000);
    if (spc !== null && spc * opts.freq !== opts.samplesPerSecond)
      throw new ArgError(
        `--rate ${opts.samplesPerSecond} contradicts --samples-per-cycle ${spc} at ${opts.freq} Hz (= ${spc * opts.freq})`,
      );
  } else opts.samplesPerSecond = (spc ?? 80) * opts.freq;
  opts.nofASDU = v.asdus !== undefined ? parseIntArg('asdus', v.asdus, 1, 32) : spc === 256 ? 8 : 1;
  if (opts.samplesPerSecond % (5 * opts.nofASDU) !== 0)
    throw new ArgError(
      `--rate ${opts.samplesPerSecond} must be a multiple of 5 × --asdus (${5 * opts.nofASDU}) so frames fall on whole cycles every 0.2 s`,
    );
  if (v.vlan === 'none') {
    if (v.vlan2 !== undefined) throw new ArgError('--vlan2 needs an outer --vlan');
    opts.vlans = [];
  } else {
    const tags: VlanTag[] = [v.vlan !== undefined ? parseVlan('vlan', v.vlan) : { id: 123, priority: 4 }];
    if (v.vlan2 !== undefined) tags.push(parseVlan('vlan2', v.vlan2));
    opts.vlans = tags;
  }
  if (v.channels !== undefined) {
    const cs = CHANNEL_SETS[v.channels] ?? channelSetFromScl(v.channels);
    if (!cs)
      throw new ArgError(
        `--channels must be one of ${Object.keys(CHANNEL_SETS).join(', ')} or an SCL file (FILE.scd[#svID]), got "${v.channels}"`,
      );
    opts.channelSet = cs;
  }
  if (v['smp-synch'] !== undefined) opts.smpSynch = parseIntArg('smp-synch', v['smp-synch'], 0, 255);
  if (v['refr-tm']) opts.refrTm = true;
  if (v.seed !== undefined) opts.seed = parseIntArg('seed', v.seed, 0, 0xffffffff);
  if (v['key-seed'] !== undefined) opts.keySeed = parseIntArg('key-seed', v['key-seed'], 0, 0xffffffff);
  if (v.start !== undefined) {
    const t = Date.parse(v.start);
    if (Number.isNaN(t)) throw new ArgError(`--start: cannot parse "${v.start}" as an ISO 8601 time`);
    if (t % 1000 !== 0) throw new ArgError('--start must be a whole second (smpCnt 0 falls on the second)');
    opts.startEpochS = t / 1000;
  }
  const sc = findScenario(scenario)!;
  if (v.sign !== undefined) opts.sign = parseSign(v.sign);
  else if (sc.defaultSign) opts.sign = sc.defaultSign;
  if (v['sign-mus'] !== undefined) {
    if (!opts.sign) throw new ArgError('--sign-mus needs --sign');
    const list = v['sign-mus'].split(',').map((x) => parseIntArg('sign-mus', x.trim(), 1, 128));
    opts.signMus = list;
  }
  if (v['sec-cnt-from-clock'] === true) opts.secCntFromClock = true;
  if (sc.minMus && opts.mus < sc.minMus) throw new ArgError(`--scenario ${scenario} needs --mus ≥ ${sc.minMus}`);
  if (opts.durationS < 1) throw new ArgError('--duration must be at least 1s (scenarios place their events in fractions of the run)');
  let format: CaptureFormat = v.out ? formatFromPath(v.out) : 'pcap';
  if (v.format !== undefined) {
    if (v.format !== 'pcap' && v.format !== 'pcapng') throw new ArgError(`--format must be pcap or pcapng, got "${v.format}"`);
    format = v.format;
  }
  const resolution = v['ts-resolution'] ?? 'ns';
  if (resolution !== 'ns' && resolution !== 'us') throw new ArgError(`--ts-resolution must be ns or us, got "${resolution}"`);
  const r: ParsedSimulateArgs = { opts, scenario, format, resolution, list, help };
  if (v.out !== undefined) r.out = v.out;
  if (v.iface !== undefined) r.iface = v.iface;
  if (v.netns !== undefined) {
    if (v.iface === undefined) throw new ArgError('--netns only applies with --iface');
    r.netns = v.netns;
  }
  const keys = v.keys ?? (opts.sign && v.out ? `${v.out}.keys` : undefined);
  if (opts.sign && !keys) throw new ArgError('--sign with --iface needs --keys DIR for the public keys');
  if (keys !== undefined) r.keysDir = keys;
  const truth = v.truth ?? (v.out ? `${v.out}.truth.json` : undefined);
  if (truth !== undefined) r.truth = truth;
  if (v.scl !== undefined && v['no-scl']) throw new ArgError('--scl and --no-scl are exclusive');
  if (v.scl === '') throw new ArgError('--scl needs a file name');
  const scl = v['no-scl'] ? undefined : (v.scl ?? (v.out ? defaultSclPath(v.out) : undefined));
  if (scl !== undefined) {
    if (resolvePath(scl) === resolvePath(v.out ?? '\0') || resolvePath(scl) === resolvePath(truth ?? '\0'))
      throw new ArgError(`--scl ${scl} would overwrite the capture or the truth file; name it with --scl FILE`);
    r.scl = scl;
  }
  return r;
}

interface LiveSink extends AsyncFrameSink {
  wantsFlush: boolean;
  result?: unknown;
}

/** Live output through the native sender (src/native/index.ts), batching frames with their departure times. */
async function openLiveSink(iface: string, netns?: string): Promise<LiveSink> {
  const native = await import('../../src/native/index.ts');
  try {
    native.loadNative();
  } catch (e) {
    throw new Error(
      `live output needs the native addon's Sender (src/native/index.ts), which could not be loaded: ${(e as Error).message}`,
    );
  }
  const sender = new native.Sender(netns !== undefined ? { iface, netns } : { iface });
  // Batches of ~256 frames; write() is synchronous and may be called several times before the engine
  // awaits flush() (scheduled attack frames), so the arrays grow instead of dropping frames.
  const MAX = 256;
  let cap = MAX * 2;
  let bytes = new Uint8Array(cap * 256);
  let offsets = new Uint32Array(cap);
  let lengths = new Uint32Array(cap);
  let depart = new BigInt64Array(cap);
  let n = 0;
  let pos = 0;
  let base: number | null = null;
  const grow = () => {
    cap *= 2;
    const b = new Uint8Array(Math.max(bytes.length * 2, pos + 4096));
    b.set(bytes.subarray(0, pos));
    bytes = b;
    const o = new Uint32Array(cap);
    o.set(offsets);
    offsets = o;
    const l = new Uint32Array(cap);
    l.set(lengths);
    lengths = l;
    const d = new BigInt64Array(cap);
    d.set(depart);
    depart = d;
  };
  const sink: LiveSink = {
    wantsFlush: false,
    write(data, offset, length, sec, nsec) {
      if (base === null) base = sec;
      // departure relative to the first frame's second; (sec - base) keeps the double exact
      const t = (sec - base) * 1e9 + nsec;
      while (n === cap || pos + length > bytes.length) grow();
      bytes.set(data.subarray(offset, offset + length), pos);
      offsets[n] = pos;
      lengths[n] = length;
      depart[n] = BigInt(t);
      pos += length;
      n++;
      if (n >= MAX) sink.wantsFlush = true;
    },
    async flush() {
      if (n === 0) return;
      await sender.send(bytes.slice(0, pos), offsets.slice(0, n), lengths.slice(0, n), depart.slice(0, n));
      n = 0;
      pos = 0;
      sink.wantsFlush = false;
    },
    async close() {
      await sink.flush!();
      sink.result = await sender.drain();
      sender.close();
    },
  };
  return sink;
}

export async function simulateCommand(argv: string[]): Promise<number> {
  let a: ParsedSimulateArgs;
  try {
    a = parseSimulateArgs(argv);
  } catch (e) {
    if (e instanceof ArgError) {
      process.stderr.write(`svde-sim: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (a.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (a.list) {
    const w = Math.max(...SCENARIOS.map((s) => s.name.length));
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(w)}  ${s.description}\n`);
    return 0;
  }
  const scenario = findScenario(a.scenario)!;
  let sink: AsyncFrameSink;
  try {
    sink = a.iface ? await openLiveSink(a.iface, a.netns) : new CaptureWriter(a.out!, { format: a.format, resolution: a.resolution });
  } catch (e) {
    process.stderr.write(`svde-sim: ${(e as Error).message}\n`);
    return 1;
  }
  const t0 = process.hrtime.bigint();
  const res = await runSimulation(a.opts, scenario, sink);
  await sink.close();
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  if (a.keysDir && res.keys.length) {
    mkdirSync(a.keysDir, { recursive: true });
    for (const k of res.keys) writeFileSync(join(a.keysDir, `${k.keyId}.pem`), publicKeyToPem(k.key.pub));
  }
  // The SCD describes the genuine configuration (res.truth.config), whatever the scenario did to the frames.
  if (a.scl) writeFileSync(a.scl, writeScl(res.truth.config, { refreshTime: a.opts.refrTm }));
  if (a.truth) {
    // config.scl: the SCD's path relative to the truth file, like the configuration file's `scl`
    const config = a.scl ? { ...res.truth.config, scl: relative(dirname(a.truth), a.scl) || a.scl } : res.truth.config;
    const truth = {
      ...res.truth,
      config,
      capture: { file: a.out ?? `live:${a.iface}`, format: a.iface ? 'live' : a.format, frames: res.frames },
    };
    writeFileSync(a.truth, `${JSON.stringify(truth, null, 1)}\n`);
  }
  process.stdout.write(
    `${JSON.stringify({
      scenario: scenario.name,
      out: a.out ?? null,
      iface: a.iface ?? null,
      frames: res.frames,
      malicious: res.truth.malicious.length,
      truth: a.truth ?? null,
      scl: a.scl ?? null,
      keys: res.keys.length ? a.keysDir : null,
      seconds: Number(elapsed.toFixed(3)),
      ...(a.iface ? { sender: (sink as LiveSink).result ?? null } : {}),
    })}\n`,
  );
  return 0;
}

/** `--channels FILE.scd[#svID|#key]`: the channel set of a stream of an SCL file, or undefined if no file. */
function channelSetFromScl(arg: string): ChannelSet | undefined {
  const hash = arg.lastIndexOf('#');
  const file = hash > 0 ? arg.slice(0, hash) : arg;
  const want = hash > 0 ? arg.slice(hash + 1) : undefined;
  if (!existsSync(file)) return undefined;
  let scl;
  try {
    scl = importSclFile(file);
  } catch (e) {
    throw new ArgError(`--channels: ${(e as Error).message}`);
  }
  const candidates = scl.streams.filter((x) => want === undefined || x.svID === want || x.key === want);
  if (candidates.length === 0)
    throw new ArgError(
      `--channels: no SampledValueControl "${want}" in ${file} (it has: ${scl.streams.map((x) => x.svID).join(', ') || 'none'})`,
    );
  const withSet = candidates.find((x) => x.channelSet !== null);
  if (withSet === undefined)
    throw new ArgError(
      `--channels: the dataset of ${candidates[0]!.key} in ${file} is not a set of current/voltage value+quality channels`,
    );
  return withSet.channelSet!;
}
