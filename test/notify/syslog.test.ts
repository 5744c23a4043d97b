// Alarms to syslog, received by a real UDP socket and a real TCP collector and checked field by field
// against the RFC 5424 grammar; RFC 6587 octet counting, reconnect, the bounded queue, never throwing.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { SyslogNotifier, escapeParamValue, formatter } from '../../src/notify/syslog.ts';
import type { AlarmRecord } from '../../src/model/records.ts';
import { FakeDevice } from '../api/fixtures/device.ts';

interface Parsed {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: Array<{ id: string; params: Record<string, string> }>;
  msg: string | null;
}

/** A strict reader of RFC 5424 §6 (SYSLOG-MSG); throws on anything the grammar does not allow. */
function parse5424(bytes: Buffer): Parsed {
  assert.ok(!(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf), 'no BOM at the start');
  const text = bytes.toString('utf8');
  assert.equal(Buffer.from(text, 'utf8').length, bytes.length, 'valid UTF-8');
  const head =
    /^<(\d{1,3})>([1-9]\d{0,2}) (-|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) /.exec(
      text,
    );
  assert.ok(head !== null, `header: ${text}`);
  const pri = Number(head[1]);
  assert.ok(pri <= 191 && String(pri) === head[1], 'PRIVAL 0–191 without leading zeros');
  let i = head[0].length;
  const sd: Parsed['sd'] = [];
  if (text[i] === '-') {
    i++;
  } else {
    while (text[i] === '[') {
      i++;
      const id = /^[\x21-\x7e]{1,32}?(?=[ \]])/.exec(text.slice(i));
      assert.ok(id !== null && !/[= \]"]/.test(id[0]), 'SD-ID');
      i += id[0].length;
      const params: Record<string, string> = {};
      while (text[i] === ' ') {
        i++;
        // RFC 5424 PARAM-NAME: printable US-ASCII except '=', ' ', ']' and '"'.
        // eslint-disable-next-line no-control-regex
        const name = /^[^= \]"\x00-\x20\x7f-\uffff]{1,32}/.exec(text.slice(i));
        assert.ok(name !== null, `PARAM-NAME at ${text.slice(i)}`);
        i += name[0].length;
        assert.equal(text.slice(i, i + 2), '="');
        i += 2;
        let v = '';
        for (;;) {
          const c = text[i];
          assert.ok(c !== undefined, 'unterminated PARAM-VALUE');
          if (c === '\\' && ['"', '\\', ']'].includes(text[i + 1]!)) {
            v += text[i + 1];
            i += 2;
            continue;
          }
          assert.ok(c !== ']', 'unescaped ] inside PARAM-VALUE');
          if (c === '"') break;
          v += c;
          i++;
        }
        i++;
        params[name[0]] = v;
      }
      assert.equal(text[i], ']', 'SD-ELEMENT closes');
      i++;
      sd.push({ id: id[0], params });
    }
    assert.ok(sd.length > 0, 'STRUCTURED-DATA present');
  }
  let msg: string | null = null;
  if (i < text.length) {
    assert.equal(text[i], ' ', 'SP before MSG');
    msg = text.slice(i + 1);
  }
  return {
    pri,
    version: Number(head[2]),
    timestamp: head[3]!,
    hostname: head[4]!,
    appName: head[5]!,
    procId: head[6]!,
    msgId: head[7]!,
    sd,
    msg,
  };
}

function alarm(p: Partial<AlarmRecord> = {}): AlarmRecord {
  return {
    id: 42,
    indicator: 'signature',
    grade: 1,
    stream: 'MU01',
    reason: 'bad-signature "key 7" [x] \\ νn=1',
    firstFrame: 1001,
    lastFrame: 1010,
    frames: 10,
    firstTsNs: '1767225600123456789',
    lastTsNs: '1767225600223456789',
    ended: false,
    acknowledged: null,
    detail: null,
    evidence: null,
    exported: false,
    ...p,
  };
}

const fixed = new Date('2026-01-01T00:00:01.234Z');

/** An octet-counting (RFC 6587 §3.4.1) reader of a TCP stream. */
function octetFrames(sock: Socket, onFrame: (b: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const sp = buf.indexOf(0x20);
      if (sp < 0) return;
      const lenText = buf.subarray(0, sp).toString('ascii');
      assert.match(lenText, /^[1-9]\d*$/, 'MSG-LEN is a non-zero number without leading zeros');
      const len = Number(lenText);
      if (buf.length < sp + 1 + len) return;
      onFrame(buf.subarray(sp + 1, sp + 1 + len));
      buf = buf.subarray(sp + 1 + len);
    }
  });
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

async function waitFor(pred: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('syslog (RFC 5424)', () => {
  it('UDP: one datagram per alarm, every field per the grammar', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    const n = new SyslogNotifier({
      host: '127.0.0.1',
      port: sock.address().port,
      transport: 'udp',
      hostname: 'bay-1 cabinet',
      procId: '77',
      now: () => fixed,
    });
    try {
      n.alarm(alarm());
      n.alarm(alarm({ id: 43, indicator: 'faultMatch', grade: 3, reason: 'ok' }));
      await waitFor(() => got.length === 2, 'two datagrams');
      const p = parse5424(got[0]!);
      assert.equal(p.pri, 10 * 8 + 2, 'authpriv.crit for a grade 1 alarm');
      assert.equal(p.version, 1);
      assert.equal(p.timestamp, '2026-01-01T00:00:01.234000Z');
      assert.equal(p.hostname, 'bay-1cabinet', 'HOSTNAME is PRINTUSASCII only');
      assert.equal(p.appName, 'svde');
      assert.equal(p.procId, '77');
      assert.equal(p.msgId, 'ALARM');
      assert.deepEqual(p.sd, [
        {
          id: 'svde@32473',
          params: {
            id: '42',
            indicator: 'signature',
            grade: '1',
            stream: 'MU01',
            reason: 'bad-signature "key 7" [x] \\ νn=1',
            firstTs: '2026-01-01T00:00:00.123456789Z',
            firstFrame: '1001',
            frames: '10',
          },
        },
      ]);
      assert.equal(p.msg, 'alarm 42: signature (grade 1) on stream MU01: bad-signature "key 7" [x] \\ νn=1');
      assert.equal(parse5424(got[1]!).pri, 10 * 8 + 4, 'grade 3 is a warning');
      assert.equal(n.stats().sent, 2);
    } finally {
      await n.close();
      sock.close();
    }
  });

  it('TCP: octet-counted frames, including the acknowledgement message', async () => {
    const frames: Buffer[] = [];
    const server = createServer((s) => octetFrames(s, (f) => frames.push(Buffer.from(f))));
    const port = await listen(server);
    const n = new SyslogNotifier({ host: '127.0.0.1', port, transport: 'tcp', facility: 16, severityByGrade: { 2: 5 } });
    try {
      n.alarm(alarm({ indicator: 'logic', grade: 2, reason: 'replay' }));
      n.acknowledged({ alarmIds: [42, 43], indicators: ['logic'], by: 'operator-1' });
      n.alarm(alarm({ id: 44, reason: 'x'.repeat(5000) }));
      await waitFor(() => frames.length === 3, 'three frames');
      const a = parse5424(frames[0]!);
      assert.equal(a.pri, 16 * 8 + 5, 'facility local0 and the configured severity');
      assert.equal(a.sd[0]?.params['reason'], 'replay');
      const ack = parse5424(frames[1]!);
      assert.equal(ack.msgId, 'ACK');
      assert.equal(ack.pri, 16 * 8 + 5);
      assert.deepEqual(ack.sd[0]?.params, { alarms: '42,43', indicators: 'logic', by: 'operator-1' });
      // Longer than the 2048-byte limit: the MSG gives way, header and structured data stay whole.
      assert.ok(frames[2]!.length <= 2048);
      const long = parse5424(frames[2]!);
      assert.equal(long.sd[0]?.params['id'], '44');
      assert.match(long.msg ?? '', /^alarm 44: /);
    } finally {
      await n.close();
      await new Promise((r) => server.close(r));
    }
  });

  it('TCP: queues while the collector is away (bounded, oldest dropped) and reconnects', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await new Promise((r) => probe.close(r));
    const errors: string[] = [];
    const n = new SyslogNotifier({
      host: '127.0.0.1',
      port,
      transport: 'tcp',
      maxQueue: 3,
      reconnect: { minMs: 20, maxMs: 50 },
      onError: (e) => errors.push(e.message),
    });
    const frames: Buffer[] = [];
    const conns = new Set<Socket>();
    const server = createServer((s) => {
      conns.add(s);
      s.on('close', () => conns.delete(s));
      octetFrames(s, (f) => frames.push(Buffer.from(f)));
    });
    try {
      for (let id = 1; id <= 5; id++) assert.doesNotThrow(() => n.alarm(alarm({ id })));
      await waitFor(() => errors.length > 0, 'a connection error');
      assert.match(errors[0]!, /ECONNREFUSED/);
      assert.deepEqual(
        { dropped: n.stats().dropped, queued: n.stats().queued, connected: n.stats().connected },
        { dropped: 2, queued: 3, connected: false },
      );
      await listen(server, port);
      await waitFor(() => frames.length === 3, 'the queued messages after reconnect');
      assert.deepEqual(
        frames.map((f) => parse5424(f).sd[0]?.params['id']),
        ['3', '4', '5'],
      );
      // The collector drops the connection: the notifier reconnects and carries on.
      for (const c of conns) c.destroy();
      await waitFor(() => !n.stats().connected, 'the drop noticed');
      n.alarm(alarm({ id: 6 }));
      await waitFor(() => frames.length === 4, 'the message after the reconnect');
      assert.equal(parse5424(frames[3]!).sd[0]?.params['id'], '6');
      assert.equal(conns.size, 1);
    } finally {
      await n.close(100);
      await new Promise((r) => server.close(r));
    }
  });

  it('never throws into the caller: unresolvable collector, a throwing onError, after close', async () => {
    const n = new SyslogNotifier({
      host: 'collector.invalid',
      port: 514,
      transport: 'udp',
      onError: () => {
        throw new Error('boom');
      },
    });
    assert.doesNotThrow(() => n.alarm(alarm()));
    await waitFor(() => n.stats().errors > 0, 'the DNS failure counted');
    await n.close();
    await n.close();
    assert.doesNotThrow(() => n.alarm(alarm()));
    assert.throws(() => new SyslogNotifier({ host: '127.0.0.1', port: 0, transport: 'udp' }), /port must be 1–65535/);
    assert.throws(() => formatter({ facility: 24 }), /facility must be 0–23/);
  });

  it('attach(device) forwards the alarms and acknowledgements of the live feed', async () => {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const got: Buffer[] = [];
    sock.on('message', (m) => got.push(m));
    const device = new FakeDevice();
    const n = new SyslogNotifier({ host: '127.0.0.1', port: sock.address().port, transport: 'udp' });
    const detach = n.attach(device);
    try {
      device.raise({ indicator: 'mac', reason: 'unknown-source' });
      device.acknowledge({ all: true }, 'op');
      device.emit({ type: 'status', data: device.status() });
      await waitFor(() => got.length === 2, 'alarm and ack');
      assert.deepEqual(
        got.map((g) => parse5424(g).msgId),
        ['ALARM', 'ACK'],
      );
      detach();
      assert.equal(device.listenerCount, 0);
    } finally {
      await n.close();
      sock.close();
    }
  });

  it('escapes exactly the three characters RFC 5424 names', () => {
    assert.equal(escapeParamValue('a"b\\c]d[e='), 'a\\"b\\\\c\\]d[e=');
  });
});
