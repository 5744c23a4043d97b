// Offline reading of capture files through the addon's OfflineReader.
import { loadNative, type NativeBinding } from './addon.ts';
import { BatchView, type FrameBatch } from './batch.ts';

export interface ReadOptions {
  /** Frames per batch (default 1024). */
  batchFrames?: number;
}

/**
 * Reads a pcap or pcapng file (format from the magic number) in batches. Frame numbers are
 * 1-based as in Wireshark; timestamps are ns since the epoch. Throws at once when the file cannot
 * be opened; a read error mid-file is thrown after the frames read before it were yielded.
 */
export function readCaptureFile(
  path: string,
  opts: ReadOptions = {},
  binding: Pick<NativeBinding, 'OfflineReader'> = loadNative(),
): IterableIterator<FrameBatch> {
  const reader = new binding.OfflineReader(path, opts.batchFrames);
  function* iterate(): Generator<FrameBatch, void, undefined> {
    try {
      for (;;) {
        const ab = reader.next();
        if (ab === null) return;
        yield new BatchView(ab);
      }
    } finally {
      reader.close();
    }
  }
  return iterate();
}
