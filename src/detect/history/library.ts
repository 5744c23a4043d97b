// The history library of the grade-3 indicators (SPEC §2 step 6): recorded primary faults (γlsft) and attack
// models (γlsit), each a named feature vector (./features.ts) compared by ./similarity.ts. The interface is
// what detection needs; the appliance backs it with its SQLite store (features kept as opaque JSON), tests
// and `svde analyze` without a database use the in-memory implementation seeded by ./seed.ts.
import type { FaultLibrary, LibraryEntry, LibraryKind } from '../../model/library.ts';

/** A library kept in memory (bounded: the oldest non-seed entries go first when full). */
export class MemoryFaultLibrary implements FaultLibrary {
  #entries: LibraryEntry[] = [];
  #nextId = 1;
  readonly #max: number;

  constructor(initial: readonly Omit<LibraryEntry, 'id'>[] = [], maxEntries = 10_000) {
    this.#max = maxEntries;
    for (const e of initial) this.add(e);
  }

  entries(kind?: LibraryKind): LibraryEntry[] {
    return kind === undefined ? this.#entries.slice() : this.#entries.filter((e) => e.kind === kind);
  }

  add(e: Omit<LibraryEntry, 'id'>): number {
    if (e.kind !== 'fault' && e.kind !== 'attack')
      throw new RangeError(`library entry kind must be 'fault' or 'attack', got '${String(e.kind)}'`);
    if (typeof e.label !== 'string' || e.label.length === 0) throw new RangeError('library entry needs a label');
    for (const [k, v] of Object.entries(e.features)) {
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v)))
        throw new RangeError(`library feature '${k}' must be a string or a finite number`);
    }
    if (this.#entries.length >= this.#max) {
      const i = this.#entries.findIndex((x) => !x.source.startsWith('seed:'));
      this.#entries.splice(i >= 0 ? i : 0, 1);
    }
    const id = this.#nextId++;
    this.#entries.push({ id, kind: e.kind, label: e.label, features: { ...e.features }, source: e.source, createdNs: e.createdNs });
    return id;
  }
}
