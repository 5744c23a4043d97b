// Hardened XML reading for SCL files: saxes (a streaming, non-validating parser that never fetches or
// expands DTD entities) wrapped with limits so a hostile file is refused with a precise reason instead of
// exhausting memory or time. SCL never needs a DTD, so any DOCTYPE is refused outright: that closes
// entity expansion ("billion laughs") and external entities (XXE) at the door; undeclared entity
// references are a well-formedness error in saxes.
import { SvdeError } from '../model/errors.ts';
import { openSync, fstatSync, readSync, closeSync } from 'node:fs';
import { SaxesParser } from 'saxes';

export const SCL_NS = 'http://www.iec.ch/61850/2003/SCL';

export interface XmlLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Deepest element nesting accepted (SCL itself needs about 12; Private sections add some). */
  maxDepth: number;
  /** Most elements accepted in the whole document. */
  maxElements: number;
  /** Most attributes on one element. */
  maxAttributes: number;
  /** Longest text content (or attribute value) of one element, in characters. */
  maxTextLength: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxBytes: 64 * 1024 * 1024,
  maxDepth: 128,
  maxElements: 2_000_000,
  maxAttributes: 256,
  maxTextLength: 4 * 1024 * 1024,
};

/** One element of the SCL namespace, with its 1-based line (where its name starts). */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  line: number;
  parent: XmlElement | null;
}

/** A file that cannot be read as SCL at all (as opposed to an SCL file with warnings). */
export class SclParseError extends SvdeError {
  readonly code = 'SCL';
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  constructor(file: string, message: string, line: number | null = null, column: number | null = null) {
    super(`${file}${line !== null ? `:${line}${column !== null ? `:${column}` : ''}` : ''}: ${message}`);
    this.name = 'SclParseError';
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

/** Reads at most limits.maxBytes + 1 bytes so an oversized file is refused without reading it whole. */
export function readLimited(file: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new SclParseError(file, `cannot open: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SclParseError(file, 'not a regular file');
    if (st.size > maxBytes) throw new SclParseError(file, `file is ${st.size} bytes, over the limit of ${maxBytes} bytes`);
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > maxBytes) throw new SclParseError(file, `file grew over the limit of ${maxBytes} bytes while reading`);
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Decodes per BOM / XML declaration; refuses bytes that are not valid in the declared encoding. */
export function decodeXmlBytes(file: string, bytes: Uint8Array): string {
  let enc = 'utf-8';
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    enc = 'utf-16le';
    start = 2;
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    enc = 'utf-16be';
    start = 2;
  } else {
    // Only ASCII-compatible encodings can be named in the declaration without a BOM.
    const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
    const m = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
    if (m) {
      const declared = m[1]!.toLowerCase();
      if (['iso-8859-1', 'latin1', 'latin-1', 'us-ascii', 'ascii', 'windows-1252', 'cp1252'].includes(declared)) enc = 'windows-1252';
      else if (declared !== 'utf-8' && declared !== 'utf8')
        throw new SclParseError(file, `unsupported encoding "${m[1]}" (UTF-8, UTF-16 with BOM and ISO-8859-1 are read)`);
    }
  }
  try {
    return new TextDecoder(enc, { fatal: true }).decode(bytes.subarray(start));
  } catch {
    throw new SclParseError(file, `not valid ${enc.toUpperCase()} text (binary file?)`);
  }
}

/**
 * Parses XML text into a tree of the elements in `keepNs` (elements of other namespaces, e.g. vendor
 * Private content, are counted against the limits but not kept). Throws SclParseError with line:column.
 */
export function parseXml(file: string, text: string, limits: XmlLimits = DEFAULT_XML_LIMITS, keepNs = SCL_NS): XmlElement {
  const first = /\S/.exec(text);
  if (first === null) throw new SclParseError(file, 'empty file, not an XML document');
  if (first[0] !== '<') {
    throw new SclParseError(
      file,
      `not an XML document (starts with ${JSON.stringify(text.slice(first.index, first.index + 16))})`,
      lineOf(text, first.index),
      null,
    );
  }
  const parser = new SaxesParser({ xmlns: true, position: true, fileName: file });
  const fail = (msg: string, line = parser.line, col: number | null = parser.column): never => {
    throw new SclParseError(file, msg, line, col);
  };
  const out: { root: XmlElement | null } = { root: null };
  // Stack of kept elements, or null for a skipped (foreign) subtree.
  const stack: (XmlElement | null)[] = [];
  let elements = 0;
  let startLine = 1;

  parser.on('error', (e) => {
    // saxes prefixes "file:line:col: "; keep its reason only.
    const reason = e.message.replace(/^.*?:\d+:\d+: /, '').replace(/\.$/, '');
    if (reason === 'undefined entity')
      fail('undefined entity reference (SCL uses only the predefined XML entities; DTD entities are not expanded)');
    fail(/^unclosed tag/.test(reason) ? `truncated or not well-formed: ${reason}` : reason);
  });
  parser.on('doctype', () => {
    const at = text.indexOf('<!DOCTYPE');
    fail(
      'DOCTYPE declarations are refused in SCL files (no DTD, entity expansion or external entities)',
      at >= 0 ? lineOf(text, at) : parser.line,
      null,
    );
  });
  parser.on('opentagstart', () => {
    startLine = parser.line;
    elements++;
    if (elements > limits.maxElements) fail(`more than ${limits.maxElements} elements (element-count limit)`);
    if (stack.length + 1 > limits.maxDepth) fail(`element nesting deeper than ${limits.maxDepth} levels (depth limit)`);
  });
  parser.on('opentag', (tag) => {
    const attrNames = Object.keys(tag.attributes);
    if (attrNames.length > limits.maxAttributes)
      fail(`element <${tag.name}> has ${attrNames.length} attributes (limit ${limits.maxAttributes})`, startLine, null);
    const parent = stack.length > 0 ? stack[stack.length - 1]! : null;
    if (stack.length === 0 && (tag.local !== 'SCL' || tag.uri !== keepNs)) {
      fail(
        `root element is <${tag.name}>${tag.uri ? ` in namespace ${tag.uri}` : ' without namespace'}, not <SCL> in namespace ${keepNs}`,
        startLine,
        null,
      );
    }
    if (tag.uri !== keepNs || (parent === null && stack.length > 0)) {
      stack.push(null);
      return;
    }
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      if (a.value.length > limits.maxTextLength)
        fail(`attribute ${a.name} longer than ${limits.maxTextLength} characters`, startLine, null);
      // Unprefixed attributes are the SCL ones; prefixed (xsi:, vendor) ones are kept under their qualified name.
      attrs[a.prefix === '' ? a.local : a.name] = a.value;
    }
    const el: XmlElement = { name: tag.local, attrs, children: [], text: '', line: startLine, parent };
    if (parent) parent.children.push(el);
    else out.root = el;
    stack.push(el);
  });
  const onText = (t: string): void => {
    const top = stack.length > 0 ? stack[stack.length - 1] : null;
    if (!top) return;
    if (top.text.length + t.length > limits.maxTextLength) fail(`text of <${top.name}> longer than ${limits.maxTextLength} characters`);
    top.text += t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', () => {
    stack.pop();
  });

  parser.write(text);
  parser.close();
  if (out.root === null) fail('no root element');
  if (stack.length !== 0) fail('truncated: unclosed elements at end of file');
  return out.root!;
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Reads, decodes and parses an SCL file with the limits. */
export function readSclXml(file: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const bytes = readLimited(file, limits.maxBytes);
  return parseXml(file, decodeXmlBytes(file, bytes), limits);
}

// Small helpers for walking the tree.
export const kids = (el: XmlElement, name: string): XmlElement[] => el.children.filter((c) => c.name === name);
export const kid = (el: XmlElement, name: string): XmlElement | undefined => el.children.find((c) => c.name === name);
