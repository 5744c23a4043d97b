// The fault/attack library (SPEC §2 step 6) kept in the evidence store: read once (seeded with the built-in
// library on first use), then served from memory — the history stages consult it per event, never per
// frame, and must not wait on the disk — and new entries are written through.
import type { FaultLibrary, LibraryEntry, LibraryKind } from '../model/library.ts';
import type { EvidenceStore } from './store.ts';

/** `seed`: the built-in entries written once into an empty library (the caller's, so the store runs no detection code). */
export function storedFaultLibrary(store: EvidenceStore, seed: readonly Omit<LibraryEntry, 'id'>[]): FaultLibrary {
  let entries = store.libraryEntries() as LibraryEntry[];
  if (entries.length === 0) {
    for (const e of seed) store.addLibraryEntry({ ...e, createdNs: BigInt(e.createdNs) });
    entries = store.libraryEntries() as LibraryEntry[];
  }
  return {
    entries: (kind?: LibraryKind) => (kind === undefined ? entries.slice() : entries.filter((e) => e.kind === kind)),
    add: (e) => {
      const id = store.addLibraryEntry({ ...e, createdNs: BigInt(e.createdNs) });
      entries.push({ ...e, id });
      return id;
    },
  };
}
