// Configuration loading: read → JSON → schema (every bad field reported with its JSON-pointer path and the
// reason) → defaults → semantic checks → cross-check against the SCL stream table.
import { SvdeError } from '../model/errors.ts';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { ValueError } from '@sinclair/typebox/errors';
import { ConfigSchema } from './schema.ts';
import type { StreamConfig, SvdeConfig } from './schema.ts';
import { effectiveProtection } from './protection.ts';
import type { EffectiveProtection } from './protection.ts';
import { importSclFile } from '../scl/import.ts';
import { readLimited, SclParseError } from '../scl/xml.ts';
import type { SclImport, SclStream } from '../scl/model.ts';

export interface ConfigIssue {
  /** JSON pointer of the bad field ("" for the whole document), e.g. /streams/1/acceptedSourceMacs/0. */
  path: string;
  message: string;
}

export class ConfigError extends SvdeError {
  readonly code: string = 'CONFIG';
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[]) {
    super(issues.map((i) => `${file}: ${i.path === '' ? '(document)' : i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** A stream of the SCL stream table with the settings that apply to it. */
export interface BoundStream {
  scl: SclStream;
  /** Index in config.streams, or null when the configuration does not name this stream (defaults apply). */
  configIndex: number | null;
  /** Lower-case, colon-separated. */
  acceptedSourceMacs: string[];
  signed: StreamConfig['signed'] | null;
  role: 'protection' | 'metering';
  bay: string | null;
  protection: EffectiveProtection;
}

export interface LoadedConfig {
  file: string;
  config: SvdeConfig;
  /** Absolute path of the SCL file used, or null when neither the file nor the caller named one. */
  sclFile: string | null;
  scl: SclImport | null;
  streams: BoundStream[];
}

const MAX_CONFIG_BYTES = 1024 * 1024;

export const normalizeMac = (m: string): string => m.toLowerCase().replace(/-/g, ':');

/** Human reason for a TypeBox error. */
function reason(e: ValueError): string {
  const custom = (e.schema as { errorMessage?: unknown }).errorMessage;
  const got = e.value === undefined ? '' : ` (got ${JSON.stringify(e.value)?.slice(0, 80)})`;
  if (typeof custom === 'string') return custom + got;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown field (not in the schema; check its spelling)';
    case ValueErrorType.ObjectRequiredProperty:
      return 'required field is missing';
    case ValueErrorType.Union: {
      const anyOf = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf ?? [];
      if (anyOf.length > 0 && anyOf.every((s) => s.const !== undefined))
        return `must be one of ${anyOf.map((s) => JSON.stringify(s.const)).join(', ')}${got}`;
      return e.message + got;
    }
    default:
      return e.message.replace(/^Expected/, 'expected') + got;
  }
}

/** A copy of `value` with the schema's defaults applied, and every bad field (first reason per path, ≤ 50). */
export function validateWithDefaults<T>(schema: TSchema, value: unknown): { value: T; issues: ConfigIssue[] } {
  const withDefaults = Value.Default(schema, structuredClone(value));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, withDefaults)) {
    // A union failure is reported once per path; the first reason is the useful one.
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    issues.push({ path: e.path, message: reason(e) });
    if (issues.length >= 50) break;
  }
  return { value: withDefaults as T, issues };
}

/** Validates a parsed JSON value and applies defaults. Throws ConfigError listing every bad field. */
export function parseConfig(value: unknown, file = '<config>'): SvdeConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(file, [{ path: '', message: 'the configuration must be a JSON object' }]);
  }
  const { value: withDefaults, issues } = validateWithDefaults<SvdeConfig>(ConfigSchema, value);
  if (issues.length > 0) throw new ConfigError(file, issues);
  const cfg = withDefaults;
  checkSemantics(cfg, issues);
  if (issues.length > 0) throw new ConfigError(file, issues);
  return cfg;
}

function checkSemantics(cfg: SvdeConfig, issues: ConfigIssue[]): void {
  cfg.streams.forEach((s, i) => {
    const at = `/streams/${i}`;
    if (s.svID === undefined && s.appId === undefined && s.ied === undefined && s.cbName === undefined) {
      issues.push({ path: at, message: 'names no stream: give svID, appId, or ied + cbName' });
    }
    const macs = new Set<string>();
    s.acceptedSourceMacs.forEach((m, j) => {
      const n = normalizeMac(m);
      // The group bit (least significant bit of the first octet) marks multicast; a sender's address never has it.
      if ((parseInt(n.slice(0, 2), 16) & 1) === 1)
        issues.push({ path: `${at}/acceptedSourceMacs/${j}`, message: `${m} is a multicast address and cannot be a source MAC` });
      if (macs.has(n)) issues.push({ path: `${at}/acceptedSourceMacs/${j}`, message: `${m} is listed twice` });
      macs.add(n);
    });
    if (s.signed && s.signed.mode === 'frame' && s.signed.blockLen !== 1) {
      issues.push({ path: `${at}/signed/blockLen`, message: `must be 1 when mode is "frame" (got ${s.signed.blockLen})` });
    }
    if (s.signed && s.signed.mode === 'block' && s.signed.blockLen < 2) {
      issues.push({ path: `${at}/signed/blockLen`, message: 'must be at least 2 when mode is "block"' });
    }
    const p = effectiveProtection(cfg.protection, s.protection);
    if (p.undervoltage27.pickupV >= p.overvoltage59.pickupV) {
      issues.push({
        path: `${at}/protection`,
        message: `undervoltage27 pickup ${p.undervoltage27.pickupV} V is not below overvoltage59 pickup ${p.overvoltage59.pickupV} V`,
      });
    }
  });
  const p = effectiveProtection(cfg.protection);
  if (p.undervoltage27.pickupV >= p.overvoltage59.pickupV) {
    issues.push({
      path: '/protection/undervoltage27/pickupV',
      message: `${p.undervoltage27.pickupV} V is not below the overvoltage59 pickup ${p.overvoltage59.pickupV} V`,
    });
  }
}

/** Streams of the SCL table a config stream entry selects. */
function select(s: StreamConfig, table: SclStream[]): SclStream[] {
  const appId = s.appId !== undefined ? parseInt(s.appId.replace(/^0[xX]/, ''), 16) : undefined;
  return table.filter(
    (t) =>
      (s.svID === undefined || t.svID === s.svID) &&
      (appId === undefined || t.address?.appId === appId) &&
      (s.ied === undefined || t.iedName === s.ied) &&
      (s.ldInst === undefined || t.ldInst === s.ldInst) &&
      (s.cbName === undefined || t.cbName === s.cbName),
  );
}

function describe(s: StreamConfig): string {
  const parts: string[] = [];
  if (s.svID !== undefined) parts.push(`svID "${s.svID}"`);
  if (s.appId !== undefined) parts.push(`APPID ${s.appId}`);
  if (s.ied !== undefined) parts.push(`IED ${s.ied}`);
  if (s.ldInst !== undefined) parts.push(`LD ${s.ldInst}`);
  if (s.cbName !== undefined) parts.push(`control block ${s.cbName}`);
  return parts.join(' and ');
}

/** Binds configuration entries to the SCL stream table; every SCL stream gets settings (defaults if unnamed). */
export function bindConfig(cfg: SvdeConfig, scl: SclImport, file = '<config>'): BoundStream[] {
  const issues: ConfigIssue[] = [];
  const byKey = new Map<string, number>();
  cfg.streams.forEach((s, i) => {
    const hits = select(s, scl.streams);
    const at = `/streams/${i}`;
    if (hits.length === 0) {
      const have = scl.streams.map((t) => `${t.svID}${t.address?.appIdHex ? `@${t.address.appIdHex}` : ''}`).join(', ') || 'none';
      issues.push({ path: at, message: `no stream in SCL file ${path.basename(scl.file)} has ${describe(s)} (its streams: ${have})` });
    } else if (hits.length > 1) {
      issues.push({
        path: at,
        message: `${describe(s)} matches ${hits.length} SCL streams (${hits.map((h) => h.key).join(', ')}); add appId, ied or cbName to pick one`,
      });
    } else {
      const key = hits[0]!.key;
      const prev = byKey.get(key);
      if (prev !== undefined) issues.push({ path: at, message: `names the same SCL stream ${key} as /streams/${prev}` });
      else byKey.set(key, i);
    }
  });
  if (issues.length > 0) throw new ConfigError(file, issues);
  return scl.streams.map((t) => {
    const i = byKey.get(t.key);
    const s = i !== undefined ? cfg.streams[i]! : undefined;
    return {
      scl: t,
      configIndex: i ?? null,
      acceptedSourceMacs: (s?.acceptedSourceMacs ?? []).map(normalizeMac),
      signed: s?.signed ?? null,
      role: s?.role ?? 'protection',
      bay: s?.bay ?? null,
      protection: effectiveProtection(cfg.protection, s?.protection, scl.nominals[t.iedName]),
    };
  });
}

/** Reads a JSON file (size-limited) and reports a syntax error with its line and column. */
function readJson(file: string): unknown {
  let text: string;
  try {
    text = readLimited(file, MAX_CONFIG_BYTES).toString('utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '', message: e instanceof SclParseError ? e.message.replace(`${file}: `, '') : String(e) }]);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, [{ path: '', message: `not valid JSON: ${(e as Error).message}` }]);
  }
}

export interface LoadOptions {
  /** SCL file overriding the configuration's `scl` (e.g. `svde analyze --scl`), or an import already made. */
  scl?: string | SclImport;
}

/**
 * Loads and validates a configuration file, applies defaults, imports its SCL file (relative paths are
 * relative to the configuration file) and binds the stream entries to it.
 */
export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadedConfig {
  const cfg = parseConfig(readJson(file), file);
  let scl: SclImport | null = null;
  let sclFile: string | null = null;
  if (typeof opts.scl === 'object') {
    scl = opts.scl;
    sclFile = path.resolve(scl.file);
  } else {
    const p = opts.scl ?? cfg.scl;
    if (p !== undefined) {
      sclFile = opts.scl !== undefined ? path.resolve(p) : path.resolve(path.dirname(file), p);
      try {
        scl = importSclFile(sclFile);
      } catch (e) {
        if (e instanceof SclParseError)
          throw new ConfigError(file, [
            { path: opts.scl !== undefined ? '' : '/scl', message: `SCL file cannot be imported: ${e.message}` },
          ]);
        throw e;
      }
    }
  }
  if (scl === null) {
    if (cfg.streams.length > 0)
      throw new ConfigError(file, [{ path: '/streams', message: 'stream settings need an SCL file: set "scl" or pass one' }]);
    return { file, config: cfg, sclFile: null, scl: null, streams: [] };
  }
  const streams = bindConfig(cfg, scl, file);
  // The accept list gains the configured source MACs.
  for (const a of scl.acceptList) a.sourceMacs = streams.find((b) => b.scl.key === a.key)?.acceptedSourceMacs ?? [];
  return { file, config: cfg, sclFile, scl, streams };
}
