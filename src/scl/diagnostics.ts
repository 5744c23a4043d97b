// What the SCL importer reports and how far it may go: warning paths and the bounds on one file's output.
import type { XmlElement } from './xml.ts';
import type { WarningCode } from './model.ts';

/** Records one warning at an element (or at an explicit path and line). */
export type Warn = (code: WarningCode, el: XmlElement | null, message: string, path?: string, line?: number | null) => void;

/** Path of an element as /SCL/IED[@name='x']/…, naming it by the attributes that identify it in SCL. */
export function elementPath(el: XmlElement): string {
  const parts: string[] = [];
  for (let e: XmlElement | null = el; e !== null; e = e.parent) {
    const ids = ID_ATTRS[e.name] ?? ['name'];
    const preds = ids
      .filter((a) => e.attrs[a] !== undefined)
      .map((a) => `[@${a}='${e.attrs[a]}']`)
      .join('');
    parts.push(e.name + preds);
  }
  return '/' + parts.reverse().join('/');
}
const ID_ATTRS: Record<string, string[]> = {
  SCL: [],
  Communication: [],
  Server: [],
  Address: [],
  DataTypeTemplates: [],
  ConnectedAP: ['iedName', 'apName'],
  SMV: ['ldInst', 'cbName'],
  GSE: ['ldInst', 'cbName'],
  P: ['type'],
  LDevice: ['inst'],
  LN0: [],
  LN: ['prefix', 'lnClass', 'inst'],
  FCDA: ['ldInst', 'prefix', 'lnClass', 'lnInst', 'doName', 'daName', 'fc'],
  LNodeType: ['id'],
  DOType: ['id'],
  DAType: ['id'],
  EnumType: ['id'],
};

/**
 * Bounds on what one file may make the importer produce. A well-formed but hostile file could otherwise
 * multiply its size through type expansion (structs of structs) or shared datasets.
 */
export const IMPORT_LIMITS = {
  controlBlocks: 10_000,
  fcdasPerDataSet: 1024,
  leavesPerFcda: 256,
  /** Dataset members resolved over all control blocks. */
  totalMembers: 200_000,
  warnings: 10_000,
} as const;
