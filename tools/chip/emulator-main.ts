#!/usr/bin/env node
// Process entry of the chip emulator: serves docs/chip-protocol.md on a serial device (normally one end of a
// socat pty pair, see scripts/chip-emulator.sh). Prints "chip-emulator ready <path>" once it listens.
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { ChipEmulator, DEFAULT_LATENCY, type Faults, type Latency } from './emulator.ts';

const USAGE = `usage: emulator-main.ts --port PATH --key-file PATH [options]
  --baud N            link speed the emulator paces its replies at (default 115200; 10 bits/byte)
  --latency K=MS,...  per-operation latency in ms, keys ${Object.keys(DEFAULT_LATENCY).join('/')}
                      (defaults ${Object.entries(DEFAULT_LATENCY)
                        .map(([k, v]) => `${k}=${v}`)
                        .join(',')})
  --drop-rate P       probability each byte (both directions) is lost
  --corrupt-rate P    probability a reply has a flipped bit
  --garbage-rate P    probability of random bytes before a reply
  --stall-rate P      probability the chip freezes --stall-ms (default 300) before answering
  --reset-rate P      probability the chip resets instead of answering
  --wrong-rate P      probability of a wrong answer with a good CRC
  --seed N            fault PRNG seed
  --test-control      accept TEST_CONTROL frames (fault injection by the test harness)
  --linked-pid N      a helper process (the socat pty pair) to stop with us when our parent dies`;

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'key-file': { type: 'string' },
      'linked-pid': { type: 'string' },
      baud: { type: 'string' },
      latency: { type: 'string' },
      'drop-rate': { type: 'string' },
      'corrupt-rate': { type: 'string' },
      'garbage-rate': { type: 'string' },
      'stall-rate': { type: 'string' },
      'stall-ms': { type: 'string' },
      'reset-rate': { type: 'string' },
      'wrong-rate': { type: 'string' },
      seed: { type: 'string' },
      'test-control': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.port || !values['key-file']) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      console.error(`bad --${name}: ${v}`);
      process.exit(2);
    }
    return n;
  };
  const latency: Partial<Latency> = {};
  for (const kv of (values.latency ?? '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (!k || !(k in DEFAULT_LATENCY) || v === undefined) {
      console.error(`bad --latency entry ${kv}`);
      process.exit(2);
    }
    latency[k as keyof Latency] = num(v, 'latency')!;
  }
  const faults: Partial<Faults> = {};
  const map: [keyof Faults, string][] = [
    ['dropRate', 'drop-rate'],
    ['corruptRate', 'corrupt-rate'],
    ['garbageRate', 'garbage-rate'],
    ['stallRate', 'stall-rate'],
    ['stallMs', 'stall-ms'],
    ['resetRate', 'reset-rate'],
    ['wrongRate', 'wrong-rate'],
  ];
  for (const [k, opt] of map) {
    const v = num((values as Record<string, string | boolean | undefined>)[opt] as string | undefined, opt);
    if (v !== undefined) faults[k] = v;
  }
  const baud = num(values.baud, 'baud') ?? 115200;

  const port = new SerialPort({ path: values.port, baudRate: baud, autoOpen: false });
  let emu: ChipEmulator | null = null;
  port.open((err) => {
    if (err) {
      console.error(`chip-emulator: cannot open ${values.port}: ${err.message}`);
      process.exit(1);
    }
    try {
      const seed = num(values.seed, 'seed');
      emu = new ChipEmulator((b) => port.write(Buffer.from(b)), {
        keyFile: values['key-file']!,
        baud,
        latency,
        faults,
        testControl: values['test-control'] ?? false,
        ...(seed !== undefined ? { seed } : {}),
      });
    } catch (e) {
      console.error(`chip-emulator: ${(e as Error).message}`);
      port.close();
      process.exit(1);
    }
    port.on('data', (d: Buffer) => emu?.receive(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    // Ready once the emulated boot is over, as a host powering up with the chip would see it.
    setTimeout(() => console.log(`chip-emulator ready ${values.port} baud=${baud}`), (emu?.latency.boot ?? 0) + 5);
  });
  port.on('error', (e) => console.error(`chip-emulator: ${e.message}`));
  port.on('close', () => {
    emu?.close();
    process.exit(0);
  });
  const stop = (): void => {
    emu?.close();
    if (port.isOpen) port.close(() => process.exit(0));
    else process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A chip does not outlive its board: when the host program dies without stopping us (SIGKILL, crash),
  // we are re-parented, and leave rather than linger as an orphan holding the pty.
  // --linked-pid names a process that exists only for us (the socat pty pair): it goes too.
  const parent = process.ppid;
  const linked = num(values['linked-pid'], 'linked-pid');
  setInterval(() => {
    if (process.ppid === parent) return;
    if (linked !== undefined) {
      try {
        process.kill(linked, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    stop();
  }, 500).unref();
}

main();
