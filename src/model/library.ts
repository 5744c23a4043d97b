// The history library's vocabulary (SPEC §2 step 6): recorded faults and attack models as named feature
// vectors. detect/history holds the in-memory library and the similarity; the store keeps them on disk.

export type LibraryKind = 'fault' | 'attack';

export interface LibraryEntry {
  id: number;
  kind: LibraryKind;
  label: string;
  /** Feature name → value (numbers compared with a scale, strings must be equal; see similarity.ts). */
  features: Record<string, number | string>;
  /** Where the entry came from: 'seed:simulator', a capture file, an alarm id … */
  source: string;
  /** Creation time, ns since the epoch, as a decimal string. */
  createdNs: string;
}

export interface FaultLibrary {
  entries(kind?: LibraryKind): LibraryEntry[];
  add(e: Omit<LibraryEntry, 'id'>): number;
}
