// The built-in seed library: primary faults recorded from the simulator's fault waveforms and the attack
// models SVDE knows out of the box. The entries are data (seed-faults.json beside this file, generated once
// by tools/history/make-seed.ts, which documents what they are and records its parameters in the file).
import { readFileSync } from 'node:fs';
import type { LibraryEntry } from '../../model/library.ts';

export type SeedEntry = Omit<LibraryEntry, 'id'>;

export interface SeedFile {
  provenance: { generator: string; version: number; date: string; parameters: Record<string, unknown> };
  entries: SeedEntry[];
}

const FILE = new URL('./seed-faults.json', import.meta.url);

/** Reads and checks the seed file (a malformed file is a broken build: it throws). */
export function readSeedFile(file: URL | string = FILE): SeedFile {
  const data = JSON.parse(readFileSync(file, 'utf8')) as SeedFile;
  if (typeof data?.provenance?.generator !== 'string' || !Array.isArray(data.entries))
    throw new Error(`${String(file)}: not a seed library file`);
  for (const e of data.entries) {
    if (
      (e.kind !== 'fault' && e.kind !== 'attack') ||
      typeof e.label !== 'string' ||
      typeof e.features !== 'object' ||
      e.features === null ||
      typeof e.source !== 'string' ||
      typeof e.createdNs !== 'string'
    ) {
      throw new Error(`${String(file)}: malformed seed entry ${JSON.stringify(e).slice(0, 120)}`);
    }
  }
  return data;
}

let cached: SeedEntry[] | undefined;

/** The seed entries (read once). */
export function seedEntries(): SeedEntry[] {
  cached ??= readSeedFile().entries;
  return cached;
}
