// The running appliance's configuration file as an engineer changes it through the API: read it back, replace it
// with a document that passes the same validation `svde run --config` applies (schema, defaults, SCL cross-check,
// relative paths resolved from the file's own directory), atomically and with the previous version kept. The new
// file takes effect at the next start; until then the running configuration and the file differ ("pending").
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync, copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfigFile, type ConfigIssue } from './load.ts';

export interface ConfigurationDocument {
  /** File name only: the API does not disclose the device's directory layout. */
  file: string;
  /** SHA-256 of the file's bytes; a replacement may name it (If-Match) so two engineers do not overwrite each other. */
  sha256: string;
  /** The configuration that is running (read at start). */
  runningSha256: string;
  /** The file differs from the running configuration: a restart applies it. */
  pending: boolean;
  config: unknown;
}

export type ReplaceResult =
  | { ok: true; document: ConfigurationDocument; warnings: string[] }
  | { ok: false; reason: 'invalid'; issues: ConfigIssue[] }
  | { ok: false; reason: 'conflict'; currentSha256: string };

export interface ConfigurationAdmin {
  current(): ConfigurationDocument;
  replace(config: unknown, by: string, ifMatchSha256?: string): ReplaceResult;
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export class ConfigurationFile implements ConfigurationAdmin {
  readonly #file: string;
  readonly #runningSha: string;
  readonly #onChange: (by: string, sha256: string, previousSha256: string) => void;

  /** `onChange` records who changed it (the event log); it is called after the new file is durable. */
  constructor(file: string, onChange: (by: string, sha256: string, previousSha256: string) => void) {
    this.#file = path.resolve(file);
    this.#runningSha = sha(readFileSync(this.#file));
    this.#onChange = onChange;
  }

  current(): ConfigurationDocument {
    const bytes = readFileSync(this.#file);
    const s = sha(bytes);
    return {
      file: path.basename(this.#file),
      sha256: s,
      runningSha256: this.#runningSha,
      pending: s !== this.#runningSha,
      config: JSON.parse(bytes.toString('utf8')) as unknown,
    };
  }

  replace(config: unknown, by: string, ifMatchSha256?: string): ReplaceResult {
    const before = readFileSync(this.#file);
    const beforeSha = sha(before);
    if (ifMatchSha256 !== undefined && ifMatchSha256 !== beforeSha) return { ok: false, reason: 'conflict', currentSha256: beforeSha };
    const text = `${JSON.stringify(config, null, 2)}\n`;
    // Validated in place (same directory, so relative SCL/TLS/board paths resolve as they will at start).
    const tmp = path.join(path.dirname(this.#file), `.${path.basename(this.#file)}.${process.pid}.new`);
    try {
      const fd = openSync(tmp, 'w', 0o640);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      let warnings: string[];
      try {
        const loaded = loadConfigFile(tmp);
        warnings = loaded.scl?.warnings.map((w) => w.message) ?? [];
      } catch (e) {
        if (e instanceof ConfigError) return { ok: false, reason: 'invalid', issues: e.issues };
        throw e;
      }
      copyFileSync(this.#file, `${this.#file}.prev`);
      renameSync(tmp, this.#file);
      fsyncDir(path.dirname(this.#file));
      const document = this.current();
      this.#onChange(by, document.sha256, beforeSha);
      return { ok: true, document, warnings };
    } finally {
      if (existsSync(tmp)) rmSync(tmp, { force: true });
    }
  }
}

/** The rename is durable only once the directory entry is. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
