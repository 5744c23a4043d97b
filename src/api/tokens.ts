// API tokens: bearer secrets with a role, kept in a JSON file (mode 0600, written atomically) as scrypt
// hashes with a per-token salt. A token reads `svde_<id>.<secret>`: the public id finds the entry without
// trying every hash, the 256-bit secret is what is checked. Verified tokens are remembered in memory by a
// SHA-256 of the presented string so that polling at hundreds of requests per second does not pay scrypt
// each time; the cache is dropped whenever the file changes (a `svde tokens revoke` takes effect at once).
import { SvdeError } from '../model/errors.ts';
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, chmodSync } from 'node:fs';
import path from 'node:path';

export const ROLES = ['viewer', 'operator', 'engineer', 'master'] as const;
export type Role = (typeof ROLES)[number];

/** viewer < operator < engineer; the master station stands apart (see server.ts for what it may do). */
export const ROLE_RANK: Readonly<Record<Exclude<Role, 'master'>, number>> = Object.freeze({ viewer: 1, operator: 2, engineer: 3 });

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
}

interface TokenEntry extends TokenInfo {
  salt: string;
  hash: string;
}

interface TokenFile {
  version: 1;
  tokens: TokenEntry[];
}

export class TokenError extends SvdeError {
  readonly code = 'TOKEN';
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEYLEN = 32;
const TOKEN_RE = /^svde_([0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;
/** Stat the file at most this often when verifying, to notice changes made by the command line. */
const RECHECK_MS = 1000;
const CACHE_MAX = 1024;
/**
 * Wrong secrets for one token id within a minute after which that id is refused without running scrypt:
 * each check costs tens of milliseconds of CPU on a bay device, so guessing must not become a way to load
 * it. The holder of the right token is unaffected once verified (the cache answers first).
 */
const MAX_FAILURES_PER_MINUTE = 20;

function scryptAsync(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEYLEN, SCRYPT, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

function publicInfo(e: TokenEntry): TokenInfo {
  return { id: e.id, name: e.name, role: e.role, createdAt: e.createdAt };
}

export class TokenStore {
  readonly file: string | null;
  #entries: TokenEntry[] = [];
  #stamp = '';
  #checkedAt = 0;
  readonly #cache = new Map<string, TokenInfo>();
  readonly #failures = new Map<string, { count: number; since: number }>();
  /** scrypt verifications run (cache misses): a figure for tests and metrics. */
  scryptRuns = 0;

  /** `file` null: tokens live in memory only (tests, the embedded demo). */
  constructor(file: string | null) {
    this.file = file;
    this.#load();
  }

  /** The token file of an appliance (created on the first `add`). */
  static open(file: string): TokenStore {
    return new TokenStore(file);
  }

  static inMemory(): TokenStore {
    return new TokenStore(null);
  }

  list(): TokenInfo[] {
    this.#refresh(true);
    return this.#entries.map(publicInfo);
  }

  get(id: string): TokenInfo | undefined {
    this.#refresh(false);
    const e = this.#entries.find((t) => t.id === id);
    return e === undefined ? undefined : publicInfo(e);
  }

  /** Creates a token; the returned secret is shown once and never stored. Synchronous (one scrypt, rare). */
  add(role: Role, name?: string): { token: string; info: TokenInfo } {
    if (!isRole(role)) throw new TokenError(`unknown role '${String(role)}'; expected one of ${ROLES.join(', ')}`);
    this.#refresh(true);
    const n = name ?? `${role}-${this.#entries.length + 1}`;
    if (!/^[\x21-\x7e][\x20-\x7e]{0,63}$/.test(n)) throw new TokenError('name must be 1–64 printable ASCII characters');
    if (this.#entries.some((t) => t.name === n)) throw new TokenError(`a token named '${n}' exists already`);
    let id = randomBytes(6).toString('hex');
    while (this.#entries.some((t) => t.id === id)) id = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const hash = scryptSync(secret, salt, KEYLEN, SCRYPT);
    const entry: TokenEntry = {
      id,
      name: n,
      role,
      createdAt: new Date().toISOString(),
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
    };
    this.#entries = [...this.#entries, entry];
    this.#save();
    return { token: `svde_${id}.${secret}`, info: publicInfo(entry) };
  }

  /** Removes a token by id or by name; returns what was removed. */
  revoke(idOrName: string): TokenInfo {
    this.#refresh(true);
    const e = this.#entries.find((t) => t.id === idOrName) ?? this.#entries.find((t) => t.name === idOrName);
    if (e === undefined) throw new TokenError(`no token with id or name '${idOrName}'`);
    this.#entries = this.#entries.filter((t) => t !== e);
    this.#save();
    return publicInfo(e);
  }

  /** The token's identity, or undefined when it is malformed, unknown or wrong. Never throws. */
  async verify(token: string): Promise<TokenInfo | undefined> {
    this.#refresh(false);
    const m = TOKEN_RE.exec(token);
    if (m === null) return undefined;
    const key = createHash('sha256').update(token).digest('base64');
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const e = this.#entries.find((t) => t.id === m[1]);
    if (e === undefined) return undefined;
    const now = Date.now();
    const f = this.#failures.get(e.id);
    if (f !== undefined && now - f.since < 60_000 && f.count >= MAX_FAILURES_PER_MINUTE) return undefined;
    let ok = false;
    this.scryptRuns++;
    try {
      const got = await scryptAsync(m[2]!, Buffer.from(e.salt, 'base64'));
      const want = Buffer.from(e.hash, 'base64');
      ok = got.length === want.length && timingSafeEqual(got, want);
    } catch {
      ok = false;
    }
    // The file may have changed while scrypt ran; only trust an entry that is still there.
    if (!ok) {
      if (f === undefined || now - f.since >= 60_000) {
        if (this.#failures.size >= CACHE_MAX) this.#failures.clear();
        this.#failures.set(e.id, { count: 1, since: now });
      } else {
        f.count++;
      }
      return undefined;
    }
    if (!this.#entries.includes(e)) return undefined;
    const info = publicInfo(e);
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(key, info);
    return info;
  }

  #fileStamp(): string {
    if (this.file === null) return '';
    try {
      const s = statSync(this.file);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'absent';
    }
  }

  #refresh(force: boolean): void {
    if (this.file === null) return;
    const now = Date.now();
    if (!force && now - this.#checkedAt < RECHECK_MS) return;
    this.#checkedAt = now;
    if (this.#fileStamp() !== this.#stamp) this.#load();
  }

  #load(): void {
    this.#cache.clear();
    if (this.file === null) return;
    this.#stamp = this.#fileStamp();
    this.#checkedAt = Date.now();
    if (this.#stamp === 'absent') {
      this.#entries = [];
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new TokenError(`token file ${this.file} is not readable JSON: ${(err as Error).message}`);
    }
    const f = parsed as Partial<TokenFile>;
    if (f === null || typeof f !== 'object' || f.version !== 1 || !Array.isArray(f.tokens)) {
      throw new TokenError(`token file ${this.file} is not a version 1 token file`);
    }
    this.#entries = f.tokens.filter(
      (t): t is TokenEntry =>
        t !== null &&
        typeof t === 'object' &&
        typeof t.id === 'string' &&
        typeof t.name === 'string' &&
        isRole(String(t.role)) &&
        typeof t.salt === 'string' &&
        typeof t.hash === 'string',
    );
  }

  /** Atomic: a temporary file in the same directory, fsync, rename; never group- or world-readable. */
  #save(): void {
    this.#cache.clear();
    if (this.file === null) return;
    const dir = path.dirname(path.resolve(this.file));
    mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const body: TokenFile = { version: 1, tokens: this.#entries };
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(body, null, 1)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.#stamp = this.#fileStamp();
  }
}
