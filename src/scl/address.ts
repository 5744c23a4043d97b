// SCL Communication section: SMV addresses (MAC, APPID, VLAN) of ConnectedAPs, attached to the control
// blocks they name.
import { kid, kids } from './xml.ts';
import type { XmlElement } from './xml.ts';
import type { SclStream, StreamAddress } from './model.ts';
import type { Warn } from './diagnostics.ts';

/** Addresses from Communication/SubNetwork/ConnectedAP/SMV onto their streams (s.address). */
export function attachAddresses(root: XmlElement, streams: SclStream[], warn: Warn): void {
  const byKey = new Map(streams.map((s) => [s.key, s]));
  const cbNamesByLd = new Map<string, string[]>();
  for (const s of streams) {
    const k = `${s.iedName}/${s.ldInst}`;
    const l = cbNamesByLd.get(k);
    if (l) l.push(s.cbName);
    else cbNamesByLd.set(k, [s.cbName]);
  }
  const apsWithServerOf = serverAtMap(root);
  const comm = kid(root, 'Communication');
  for (const sn of comm ? kids(comm, 'SubNetwork') : []) {
    for (const cap of kids(sn, 'ConnectedAP')) {
      const iedName = cap.attrs['iedName'] ?? '';
      const apName = cap.attrs['apName'] ?? '';
      for (const smv of kids(cap, 'SMV')) {
        const ldInst = smv.attrs['ldInst'] ?? '';
        const cbName = smv.attrs['cbName'] ?? '';
        const key = `${iedName}/${ldInst}/LLN0.${cbName}`;
        const s = byKey.get(key);
        if (!s) {
          warn(
            'smv-address-dangling',
            smv,
            `ConnectedAP ${iedName}/${apName} has an SMV address for ${ldInst}/LLN0.${cbName}, but IED ${iedName} has no such SampledValueControl${similarHint(cbName, cbNamesByLd.get(`${iedName}/${ldInst}`) ?? [])}`,
          );
          continue;
        }
        const servedAps = apsWithServerOf.get(`${iedName}/${s.apName}`) ?? [s.apName];
        if (!servedAps.includes(apName)) {
          warn(
            'smv-address-dangling',
            smv,
            `SMV address for ${key} is under access point ${apName}, but the control block is in access point ${s.apName}`,
          );
          continue;
        }
        const addr = readAddress(smv, sn, iedName, apName, s, warn);
        if (!addr) continue;
        if (s.address) {
          warn('address-duplicate', smv, `${key} already has an address (line ${s.address.line ?? '?'}); this one is ignored`);
          continue;
        }
        s.address = addr;
      }
    }
  }
}

function similarHint(name: string, candidates: string[]): string {
  if (candidates.length === 0) return '';
  const norm = (x: string): string => x.toLowerCase().replace(/(.)\1+/g, '$1');
  const close = candidates.find((c) => norm(c) === norm(name));
  return close ? ` (did it mean "${close}"?)` : ` (its control blocks there: ${candidates.join(', ')})`;
}

/** AccessPoints that reach a server through ServerAt: key IED/AP-with-server → APs that may carry its addresses. */
function serverAtMap(root: XmlElement): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const ied of kids(root, 'IED')) {
    const name = ied.attrs['name'] ?? '';
    for (const ap of kids(ied, 'AccessPoint')) {
      const apName = ap.attrs['name'] ?? '';
      const k = `${name}/${apName}`;
      if (!m.has(k)) m.set(k, [apName]);
      const at = kid(ap, 'ServerAt');
      if (at?.attrs['apName']) {
        const target = `${name}/${at.attrs['apName']}`;
        const list = m.get(target) ?? [at.attrs['apName']];
        list.push(apName);
        m.set(target, list);
      }
    }
  }
  return m;
}

const MAC_RE = /^([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})$/;

function readAddress(smv: XmlElement, sn: XmlElement, iedName: string, apName: string, s: SclStream, warn: Warn): StreamAddress | null {
  const addr = kid(smv, 'Address');
  if (!addr) {
    warn('address-invalid', smv, `SMV entry for ${s.key} has no Address element`);
    return null;
  }
  const p: Record<string, { v: string; el: XmlElement }> = {};
  for (const el of kids(addr, 'P')) if (el.attrs['type']) p[el.attrs['type']] = { v: el.text.trim(), el };
  let dstMac: string | null = null;
  const mac = p['MAC-Address'];
  if (!mac) warn('address-invalid', addr, `SMV address of ${s.key} has no MAC-Address`);
  else if (!MAC_RE.test(mac.v)) warn('address-invalid', mac.el, `MAC-Address "${mac.v}" of ${s.key} is not six hex octets`);
  else {
    dstMac = mac.v.toLowerCase().replace(/-/g, ':');
    const n = parseInt(dstMac.replace(/:/g, ''), 16);
    // IEC 61850-9-2 Annex C multicast range for SV.
    if (s.multicast && (n < 0x010ccd040000 || n > 0x010ccd0401ff)) {
      warn(
        'mac-out-of-range',
        mac.el,
        `MAC-Address ${mac.v} of ${s.key} is outside the SV multicast range 01-0C-CD-04-00-00..01-0C-CD-04-01-FF`,
      );
    }
  }
  const hex = (name: string, digits: number): { n: number | null; hex: string | null } => {
    const e = p[name];
    if (!e) return { n: null, hex: null };
    if (!new RegExp(`^[0-9A-Fa-f]{1,${digits}}$`).test(e.v)) {
      warn('address-invalid', e.el, `${name} "${e.v}" of ${s.key} is not 1 to ${digits} hex digits`);
      return { n: null, hex: null };
    }
    return { n: parseInt(e.v, 16), hex: e.v.toUpperCase() };
  };
  const appId = hex('APPID', 4);
  if (!p['APPID']) warn('address-invalid', addr, `SMV address of ${s.key} has no APPID`);
  else if (appId.n !== null && (appId.n < 0x4000 || appId.n > 0x7fff)) {
    warn('appid-out-of-range', p['APPID'].el, `APPID ${appId.hex} of ${s.key} is outside the SV range 4000..7FFF (IEC 61850-9-2)`);
  }
  const vlan = hex('VLAN-ID', 3);
  let vlanPriority: number | null = null;
  const pr = p['VLAN-PRIORITY'];
  if (pr) {
    if (/^[0-7]$/.test(pr.v)) vlanPriority = Number(pr.v);
    else warn('address-invalid', pr.el, `VLAN-PRIORITY "${pr.v}" of ${s.key} is not 0..7`);
  }
  return {
    subNetwork: sn.attrs['name'] ?? '',
    connectedAP: { iedName, apName },
    dstMac,
    appId: appId.n,
    appIdHex: appId.hex,
    vlanId: vlan.n,
    vlanIdHex: vlan.hex,
    vlanPriority,
    line: smv.line,
  };
}
