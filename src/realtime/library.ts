// The fault/attack library as the real-time thread holds it: the store's entries copied in at start,
// served from memory, and additions forwarded to the main thread, whose store writes them through. Ids
// continue from the store's highest, so they agree with the rows the store assigns (it alone adds).
import type { FaultLibrary, LibraryEntry, LibraryKind } from '../model/library.ts';

export type LibraryEntryInit = LibraryEntry;

export class ForwardingLibrary implements FaultLibrary {
  readonly #entries: LibraryEntry[];
  #nextId: number;
  readonly #forward: (e: LibraryEntry) => void;

  constructor(initial: readonly LibraryEntry[], forward: (e: LibraryEntry) => void) {
    this.#entries = initial.slice();
    this.#nextId = initial.reduce((m, e) => Math.max(m, e.id), 0) + 1;
    this.#forward = forward;
  }

  entries(kind?: LibraryKind): LibraryEntry[] {
    return kind === undefined ? this.#entries.slice() : this.#entries.filter((e) => e.kind === kind);
  }

  add(e: Omit<LibraryEntry, 'id'>): number {
    const entry = { ...e, id: this.#nextId++ };
    this.#entries.push(entry);
    this.#forward(entry);
    return entry.id;
  }
}
