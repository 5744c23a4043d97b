// Conformance suite of the chip protocol (docs/chip-protocol.md), run on the raw byte level so that it judges the
// chip, not the driver. The same function runs against the emulator over a socat pty and against a real chip
// (test/crypto/chip/conformance.test.ts with SVDE_CHIP_PORT). Known answers come from GM/T 0003.5 Annex A.
import { SM2_N, Sm2Point, sm2VerifyDigest } from '../../src/crypto/sm2.ts';
import type { ChipTransport } from '../../src/crypto/chip/driver.ts';
import {
  bigTo32,
  Cmd,
  decodeBoot,
  decodeInfo,
  decodeSignature,
  decodeVerifyBatchResult,
  decodeVerifyResult,
  encodeFrame,
  encodeLoadKey,
  encodeVerify,
  encodeVerifyBatch,
  FrameParser,
  PROTOCOL_VERSION,
  RESPONSE_BIT,
  SOF,
  Status,
  statusName,
  Verdict,
  type ChipInfo,
  type Frame,
} from '../../src/crypto/chip/protocol.ts';

export interface ConformanceResult {
  name: string;
  ok: boolean;
  detail: string;
}

// GM/T 0003.5 Annex A, default ID (shared reference sm2-sm3-vectors.md §2.1).
export const ANNEX_A = {
  pub: {
    x: 0x09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020n,
    y: 0xccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13n,
  },
  e: bigTo32(0xf0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640n),
  r: 0xf5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3n,
  s: 0xb1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aan,
};

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};
const bigOf = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);

/** Minimal raw client: frames out, answers collected by seq, BOOT frames remembered. */
class RawClient {
  private parser = new FrameParser();
  private waiters = new Map<number, (f: Frame) => void>();
  readonly unsolicited: Frame[] = [];
  readonly early: Frame[] = [];
  private seq = 0;
  private readonly t: ChipTransport;
  constructor(t: ChipTransport) {
    this.t = t;
    t.onData((c) => {
      for (const f of this.parser.push(c)) {
        if (f.cmd === Cmd.BOOT) {
          this.unsolicited.push(f);
          continue;
        }
        const w = this.waiters.get(f.seq);
        if (w) {
          this.waiters.delete(f.seq);
          w(f);
        } else this.early.push(f);
      }
    });
  }
  nextSeq(): number {
    this.seq = this.seq >= 255 ? 1 : this.seq + 1;
    return this.seq;
  }
  waitSeq(seq: number, ms: number): Promise<Frame | null> {
    return new Promise((res) => {
      const k = this.early.findIndex((f) => f.seq === seq);
      if (k >= 0) {
        res(this.early.splice(k, 1)[0]!);
        return;
      }
      const t = setTimeout(() => {
        this.waiters.delete(seq);
        res(null);
      }, ms);
      this.waiters.set(seq, (f) => {
        clearTimeout(t);
        res(f);
      });
    });
  }
  writeRaw(b: Uint8Array): void {
    this.t.write(b);
  }
  async call(cmd: number, payload: Uint8Array = new Uint8Array(0), ms = 2000): Promise<{ status: number; data: Uint8Array; frame: Frame }> {
    const seq = this.nextSeq();
    const p = this.waitSeq(seq, ms);
    this.t.write(encodeFrame({ seq, cmd, payload }));
    const f = await p;
    if (!f) throw new Error(`no answer to cmd 0x${cmd.toString(16)} within ${ms} ms`);
    if (f.cmd !== (cmd | RESPONSE_BIT)) throw new Error(`answer cmd 0x${f.cmd.toString(16)} to 0x${cmd.toString(16)}`);
    if (f.payload.length < 1) throw new Error('answer without status');
    return { status: f.payload[0]!, data: f.payload.subarray(1), frame: f };
  }
}

function expectStatus(got: number, want: number, what: string): void {
  if (got !== want) throw new Error(`${what}: ${statusName(got)}, expected ${statusName(want)}`);
}

/**
 * Runs every check against a freshly opened port (closed at the end). Leaves the chip with empty key slots 0–2
 * (it resets the chip as its last check). Returns one result per check; none throws.
 */
export async function chipConformance(openPort: () => Promise<ChipTransport>): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  const t = await openPort();
  const c = new RawClient(t);
  let info: ChipInfo | null = null;
  const check = async (name: string, fn: () => Promise<string | void>): Promise<void> => {
    try {
      const d = await fn();
      results.push({ name, ok: true, detail: d ?? '' });
    } catch (e) {
      results.push({ name, ok: false, detail: (e as Error).message });
    }
  };
  const verify = async (slot: number, e: Uint8Array, r: bigint, s: bigint): Promise<{ status: number; verdict?: number; x1?: bigint }> => {
    const a = await c.call(Cmd.VERIFY, encodeVerify({ slot, e, r, s }));
    if (a.status !== Status.OK) return { status: a.status };
    return { status: a.status, ...decodeVerifyResult(a.data) };
  };
  try {
    await check('INFO describes the chip and its device key', async () => {
      const a = await c.call(Cmd.INFO);
      expectStatus(a.status, Status.OK, 'INFO');
      info = decodeInfo(a.data);
      if (info.protocolVersion !== PROTOCOL_VERSION) throw new Error(`protocol version ${info.protocolVersion}`);
      if (info.slots < 3 || info.maxBatch < 1) throw new Error(`slots ${info.slots}, maxBatch ${info.maxBatch}`);
      Sm2Point.fromAffine(info.deviceKey).assertValidity();
      return `boot ${info.bootCount}, ${info.slots} slots, batch ≤ ${info.maxBatch}, flags ${info.flags}`;
    });
    await check('SELFTEST passes', async () => {
      const a = await c.call(Cmd.SELFTEST, new Uint8Array(0), 5000);
      expectStatus(a.status, Status.OK, 'SELFTEST');
      return `bits 0x${(a.data[0] ?? 0).toString(16)}`;
    });
    await check("LOAD_KEY + VERIFY: the Annex A signature verifies, with x1' = r − e", async () => {
      expectStatus((await c.call(Cmd.LOAD_KEY, encodeLoadKey(0, ANNEX_A.pub))).status, Status.OK, 'LOAD_KEY');
      const v = await verify(0, ANNEX_A.e, ANNEX_A.r, ANNEX_A.s);
      expectStatus(v.status, Status.OK, 'VERIFY');
      if (v.verdict !== Verdict.VALID) throw new Error(`verdict ${v.verdict}`);
      if (v.x1 !== mod(ANNEX_A.r - bigOf(ANNEX_A.e), SM2_N)) throw new Error("x1' is not r − e");
    });
    await check('VERIFY rejects a changed e, r or s', async () => {
      const e2 = ANNEX_A.e.slice();
      e2[31]! ^= 1;
      for (const [what, v] of [
        ['e', await verify(0, e2, ANNEX_A.r, ANNEX_A.s)],
        ['r', await verify(0, ANNEX_A.e, ANNEX_A.r ^ 4n, ANNEX_A.s)],
        ['s', await verify(0, ANNEX_A.e, ANNEX_A.r, ANNEX_A.s ^ 2n)],
        ['r = 0', await verify(0, ANNEX_A.e, 0n, ANNEX_A.s)],
        ['s = n', await verify(0, ANNEX_A.e, ANNEX_A.r, SM2_N)],
      ] as const) {
        expectStatus(v.status, Status.OK, `VERIFY (${what})`);
        if (v.verdict !== Verdict.INVALID) throw new Error(`changed ${what} verified`);
      }
    });
    await check('LOAD_KEY refuses a point not on the curve and a slot out of range', async () => {
      expectStatus(
        (await c.call(Cmd.LOAD_KEY, encodeLoadKey(1, { x: ANNEX_A.pub.x, y: ANNEX_A.pub.y ^ 1n }))).status,
        Status.ERR_BAD_KEY,
        'bad point',
      );
      expectStatus((await c.call(Cmd.LOAD_KEY, encodeLoadKey(info?.slots ?? 255, ANNEX_A.pub))).status, Status.ERR_BAD_SLOT, 'bad slot');
    });
    await check('VERIFY on an empty slot answers ERR_SLOT_EMPTY; CLEAR_KEY empties a slot', async () => {
      expectStatus((await c.call(Cmd.LOAD_KEY, encodeLoadKey(2, ANNEX_A.pub))).status, Status.OK, 'LOAD_KEY 2');
      expectStatus((await c.call(Cmd.CLEAR_KEY, Uint8Array.of(2))).status, Status.OK, 'CLEAR_KEY 2');
      expectStatus((await verify(2, ANNEX_A.e, ANNEX_A.r, ANNEX_A.s)).status, Status.ERR_SLOT_EMPTY, 'VERIFY slot 2');
    });
    await check('VERIFY_BATCH gives per-item verdicts in order', async () => {
      const bad = ANNEX_A.s ^ 8n;
      const items = [ANNEX_A.s, bad, ANNEX_A.s, bad].map((s) => ({ slot: 0, e: ANNEX_A.e, r: ANNEX_A.r, s }));
      items.push({ slot: 2, e: ANNEX_A.e, r: ANNEX_A.r, s: ANNEX_A.s });
      const a = await c.call(Cmd.VERIFY_BATCH, encodeVerifyBatch(items));
      expectStatus(a.status, Status.OK, 'VERIFY_BATCH');
      const rs = decodeVerifyBatchResult(a.data);
      const got = rs.map((r) => (r.status === Status.OK ? r.verdict : statusName(r.status)));
      const want = [Verdict.VALID, Verdict.INVALID, Verdict.VALID, Verdict.INVALID, 'ERR_SLOT_EMPTY'];
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`got ${JSON.stringify(got)}`);
    });
    await check("SIGN(e) signs with the device key (checked against INFO's public key)", async () => {
      if (!info) throw new Error('no INFO');
      for (const seed of [1, 2]) {
        const e = new Uint8Array(32).fill(seed);
        const a = await c.call(Cmd.SIGN, e);
        expectStatus(a.status, Status.OK, 'SIGN');
        const sig = decodeSignature(a.data);
        if (!sm2VerifyDigest(info.deviceKey, bigOf(e), sig)) throw new Error('signature does not verify');
        if (sm2VerifyDigest(info.deviceKey, bigOf(e) ^ 1n, sig)) throw new Error('signature verifies another e');
      }
    });
    await check('RANDOM returns the requested count, fresh each time', async () => {
      const a = await c.call(Cmd.RANDOM, Uint8Array.of(32));
      const b = await c.call(Cmd.RANDOM, Uint8Array.of(32));
      expectStatus(a.status, Status.OK, 'RANDOM');
      if (a.data.length !== 32 || b.data.length !== 32) throw new Error(`lengths ${a.data.length}, ${b.data.length}`);
      if (Buffer.from(a.data).equals(Buffer.from(b.data))) throw new Error('two draws are equal');
    });
    await check('unknown command → ERR_UNKNOWN_CMD; wrong payload length → ERR_BAD_LENGTH', async () => {
      expectStatus((await c.call(0x55)).status, Status.ERR_UNKNOWN_CMD, 'cmd 0x55');
      expectStatus((await c.call(Cmd.VERIFY, new Uint8Array(10))).status, Status.ERR_BAD_LENGTH, 'short VERIFY');
    });
    await check('resynchronises after garbage (including false start bytes)', async () => {
      c.writeRaw(Uint8Array.of(0x00, SOF, 0xff, 0xff, 0x13, SOF, 0x00, 0x01, 0x5b, 0x07, SOF, 0x42, 0x99));
      expectStatus((await c.call(Cmd.INFO)).status, Status.OK, 'INFO after garbage');
    });
    await check('a frame with a bad CRC is not answered; the next one is', async () => {
      const seq = c.nextSeq();
      const f = encodeFrame({ seq, cmd: Cmd.INFO, payload: new Uint8Array(0) });
      f[f.length - 1]! ^= 0x40;
      const p = c.waitSeq(seq, 300);
      c.writeRaw(f);
      if (await p) throw new Error('bad-CRC frame was answered');
      expectStatus((await c.call(Cmd.INFO)).status, Status.OK, 'INFO after bad CRC');
    });
    await check('several requests in flight are answered by sequence number', async () => {
      const seqs = [c.nextSeq(), c.nextSeq(), c.nextSeq(), c.nextSeq()];
      const waits = seqs.map((s) => c.waitSeq(s, 2000));
      const cmds = [Cmd.INFO, Cmd.RANDOM, Cmd.VERIFY, Cmd.INFO];
      const payloads = [
        new Uint8Array(0),
        Uint8Array.of(4),
        encodeVerify({ slot: 0, e: ANNEX_A.e, r: ANNEX_A.r, s: ANNEX_A.s }),
        new Uint8Array(0),
      ];
      const bytes = seqs.map((s, k) => encodeFrame({ seq: s, cmd: cmds[k]!, payload: payloads[k]! }));
      c.writeRaw(Uint8Array.from(bytes.flatMap((b) => [...b])));
      const got = await Promise.all(waits);
      got.forEach((f, k) => {
        if (!f) throw new Error(`seq ${seqs[k]} unanswered`);
        if (f.cmd !== (cmds[k]! | RESPONSE_BIT) || f.payload[0] !== Status.OK)
          throw new Error(`seq ${seqs[k]}: cmd 0x${f.cmd.toString(16)} status ${f.payload[0]}`);
      });
      const v = decodeVerifyResult(got[2]!.payload.subarray(1));
      if (v.verdict !== Verdict.VALID) throw new Error('pipelined VERIFY did not verify');
    });
    await check('RESET: answered, then a BOOT frame, a new boot identity and empty slots', async () => {
      const before = info as ChipInfo | null;
      const n0 = c.unsolicited.length;
      expectStatus((await c.call(Cmd.RESET)).status, Status.OK, 'RESET');
      const end = Date.now() + 5000;
      while (c.unsolicited.length === n0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      const boot = c.unsolicited[n0];
      if (!boot) throw new Error('no BOOT frame within 5 s');
      if (boot.seq !== 0) throw new Error(`BOOT with seq ${boot.seq}`);
      const b = decodeBoot(boot.payload);
      const now = decodeInfo((await c.call(Cmd.INFO)).data);
      if (now.bootCount !== b.bootCount || now.bootId !== b.bootId) throw new Error('INFO disagrees with BOOT');
      if (before && now.bootId === before.bootId && now.bootCount === before.bootCount) throw new Error('boot identity unchanged');
      expectStatus((await verify(0, ANNEX_A.e, ANNEX_A.r, ANNEX_A.s)).status, Status.ERR_SLOT_EMPTY, 'VERIFY after reset');
      return `boot ${b.bootCount}`;
    });
  } finally {
    await t.close();
  }
  return results;
}
