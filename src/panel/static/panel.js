// The local panel: status, indicators, alarms, streams and the live waveform of one stream, kept current by
// Server-Sent Events (GET /api/v1/live). Everything from the device is put in the page as text (never as
// HTML): svIDs and reasons come from the process bus, where an attacker may write them.
import * as api from './api.js';
import { colourIndex, drawPhasors, drawWaveform } from './charts.js';

const INDICATORS = [
  ['signature', 'Signature', 'γgj'],
  ['mac', 'Source MAC', 'γMAC'],
  ['logic', 'Protocol logic', 'γlj'],
  ['rate', 'Frame rate', 'γfz'],
  ['badData', 'Bad data', 'γbl'],
  ['faultMatch', 'Fault match', 'γlsft'],
  ['attackMatch', 'Attack match', 'γlsit'],
  ['upstreamForgery', 'Upstream forgery', 'γSVfk'],
  ['upstreamTamper', 'Upstream tamper', 'γSVtp'],
];
const LABEL = Object.fromEntries(INDICATORS.map(([id, label]) => [id, label]));
LABEL.trip = 'Trip-inducing data';
const GRADE_NAME = { 1: 'packet', 2: 'specification', 3: 'history', 4: 'upstream' };
const LED_TEXT = {
  heartbeat: 'Running',
  'red-steady': 'Alarm — acknowledge',
  'red-blink': 'Acknowledged, still active',
  degraded: 'Degraded',
  off: 'Off',
};
const MODE_TEXT = { demo: 'Embedded demo', 'demo-in-process': 'Embedded demo (in-process source)', live: 'Live' };
const MAX_ALARMS = 200;
const STALE_MS = 5000;

const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
};

/** Creates an element with text and attributes (no HTML parsing). */
function el(tag, opts = {}, ...children) {
  const e = document.createElement(tag);
  if (opts.className) e.className = opts.className;
  if (opts.text !== undefined) e.textContent = String(opts.text);
  for (const [k, v] of Object.entries(opts.attrs ?? {})) e.setAttribute(k, String(v));
  for (const [k, v] of Object.entries(opts.data ?? {})) e.dataset[k] = String(v);
  for (const c of children) if (c) e.append(c);
  return e;
}

const state = {
  status: null,
  streams: [],
  /** id → AlarmRecord */
  alarms: new Map(),
  total: 0,
  next: null,
  stream: null,
  waveform: null,
  es: null,
  lastEvent: 0,
  fresh: new Set(),
  /** An action to retry after signing in. */
  pending: null,
  degradedKey: '',
  /** Who this page is signed in as (null: not known). */
  who: null,
  /** Live alarm events counted, and the count when each alarm last changed live: a page read that was
   *  under way meanwhile must not put back an older state or drop a newer alarm. */
  liveSeq: 0,
  touched: new Map(),
};

// ---- formatting ------------------------------------------------------------------------------------------

function nsToDate(ns) {
  try {
    return new Date(Number(BigInt(ns) / 1000000n));
  } catch {
    return new Date(NaN);
  }
}
const pad = (n, w = 2) => String(n).padStart(w, '0');
function timeText(ns) {
  const d = nsToDate(ns);
  if (Number.isNaN(d.getTime())) return '—';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function dateText(ns) {
  const d = nsToDate(ns);
  return Number.isNaN(d.getTime()) ? '' : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
const hex4 = (n) => `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;

function showWho(s) {
  state.who = s.name;
  $('who').textContent = `${s.name} (${s.role})`;
}

// ---- errors and login ------------------------------------------------------------------------------------

function showError(msg) {
  const e = $('error');
  e.textContent = msg;
  e.hidden = msg === '';
}

function askLogin(reason, retry) {
  state.pending = retry ?? null;
  $('login-reason').textContent = reason;
  $('login-error').hidden = true;
  const d = /** @type {HTMLDialogElement} */ ($('login'));
  if (!d.open) d.showModal();
  $('login-token').focus();
}

async function submitLogin(ev) {
  ev.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('login-token'));
  const token = input.value.trim();
  if (token === '') return;
  $('login-submit').setAttribute('disabled', '');
  try {
    const s = await api.login(token);
    input.value = '';
    /** @type {HTMLDialogElement} */ ($('login')).close();
    showWho(s);
    const retry = state.pending;
    state.pending = null;
    await loadAll();
    if (retry) await retry();
  } catch (e) {
    const err = $('login-error');
    err.textContent = e instanceof api.ApiError ? e.message : String(e);
    err.hidden = false;
  } finally {
    $('login-submit').removeAttribute('disabled');
  }
}

/** Runs an operator action; on 401/403 asks for a token and runs it again after signing in. */
async function act(what, fn) {
  try {
    await fn();
    showError('');
  } catch (e) {
    if (e instanceof api.ApiError && e.needsLogin) {
      askLogin(`${what} needs an operator token: ${e.message}`, () => act(what, fn));
    } else {
      showError(`${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

// ---- status and indicators -------------------------------------------------------------------------------

function renderStatus(s) {
  state.status = s;
  document.body.dataset.nu = String(s.nu);
  $('nu-value').textContent = String(s.nu);
  $('nu').title = s.nu === 1 ? 'an indicator is raised' : 'no indicator raised';
  $('led').dataset.pattern = s.led;
  $('led-text').textContent = LED_TEXT[s.led] ?? s.led;
  $('mode').textContent = `${MODE_TEXT[s.mode] ?? s.mode} · v${s.version}`;
  $('scenario').textContent = s.scenario ? `Scenario: ${s.scenario}` : '';
  const anyLatched = Object.values(s.indicators).some((i) => i.latched);
  $('ack-all').hidden = !anyLatched;
  renderIndicators(s.indicators);
  renderDegraded(s.degraded);
}

function indicatorState(i) {
  if (i.latched) return 'latched';
  if (i.active) return 'active';
  return 'ok';
}

function renderIndicators(indicators) {
  const box = $('indicators');
  if (box.childElementCount !== INDICATORS.length) {
    box.replaceChildren(...INDICATORS.map(([id, label, sym]) => {
      const ack = el('button', { className: 'ack-one', text: 'Acknowledge', attrs: { type: 'button' } });
      ack.addEventListener('click', () => act(`Acknowledging ${label}`, async () => {
        const r = await api.ackIndicators({ indicator: id });
        markAcknowledged(r.alarmIds, state.who ?? 'you');
        refreshAlarmsSoon();
      }));
      return el('div', { className: 'ind', data: { id, state: 'ok' }, attrs: { role: 'group', 'aria-label': label } },
        el('div', { className: 'name', text: label }),
        el('div', { className: 'sym' }, document.createTextNode(sym), el('span', { className: 'grade' })),
        el('div', { className: 'count', text: '0' }),
        el('div', { className: 'state', text: 'OK' }),
        ack);
    }));
  }
  for (const node of box.children) {
    const id = node.dataset.id;
    const i = indicators[id];
    if (!i) continue;
    const st = indicatorState(i);
    node.dataset.state = st;
    node.querySelector('.count').textContent = String(i.count);
    // ALARM: running and not acknowledged; LATCHED: over, not acknowledged; ACTIVE: acknowledged, running.
    node.querySelector('.state').textContent = st === 'latched' ? (i.active ? 'ALARM' : 'LATCHED') : st === 'active' ? 'ACTIVE' : 'OK';
    node.title = st === 'latched' ? (i.active ? 'alarm running, not acknowledged' : 'alarm over, not acknowledged') : st === 'active' ? 'acknowledged, alarm still running' : 'no alarm';
    const g = node.querySelector('.grade');
    g.textContent = `G${i.grade}`;
    g.dataset.grade = String(i.grade);
    g.title = `grade ${i.grade}: ${GRADE_NAME[i.grade] ?? ''}`;
    node.querySelector('.ack-one').hidden = !i.latched;
  }
}

/** One word per component (capture, chip, storage, LED) with its state, refreshed every few seconds. */
function renderHealth(h) {
  const parts = [['capture', 'capture'], ['chip', 'chip'], ['storage', 'storage'], ['led', 'LED']];
  $('health').replaceChildren(...parts.filter(([k]) => h[k]).map(([k, label]) => {
    const c = h[k];
    const extra = k === 'chip' && c.fallback === 'software' && c.state !== 'ok' ? ' (software)' : '';
    return el('span', { data: { state: c.state }, text: `${label} ${c.state}${extra}`, attrs: { title: c.detail ?? '' } });
  }));
}

function pollHealth() {
  api.getHealth().then(renderHealth, () => {});
}

function renderDegraded(d) {
  const parts = Object.entries(d).filter(([, v]) => v).map(([k]) => k);
  const key = parts.join(',');
  const box = $('degraded');
  if (parts.length === 0) {
    box.hidden = true;
    if (state.degradedKey !== '') pollHealth();
    state.degradedKey = '';
    return;
  }
  box.hidden = false;
  if (key === state.degradedKey) return;
  state.degradedKey = key;
  box.replaceChildren(el('div', { text: `Degraded: ${parts.join(', ')} — detection continues where it can.` }));
  // The reasons are in the health view.
  api.getHealth().then((h) => {
    renderHealth(h);
    const items = parts.map((k) => el('li', { text: `${k}: ${h[k]?.state ?? '?'}${h[k]?.detail ? ` — ${h[k].detail}` : ''}` }));
    box.append(el('ul', {}, ...items));
  }, () => {});
}

// ---- alarms ----------------------------------------------------------------------------------------------

function upsertAlarm(a, fresh) {
  state.liveSeq += 1;
  state.touched.set(a.id, state.liveSeq);
  const had = state.alarms.has(a.id);
  state.alarms.set(a.id, a);
  if (!had) state.total += 1;
  if (fresh) state.fresh.add(a.id);
}

let renderPending = false;
/** One redraw per frame however many alarm events arrive (an alarm storm sends hundreds a second). */
function renderAlarmsSoon() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderAlarms();
  });
}

function renderAlarms() {
  // A page left open for months must not keep every alarm: beyond the cap, start again from the first page.
  if (state.alarms.size > MAX_ALARMS * 2) {
    const keep = [...state.alarms.keys()].sort((x, y) => y - x).slice(0, MAX_ALARMS);
    state.alarms = new Map(keep.map((id) => [id, state.alarms.get(id)]));
    refreshAlarmsSoon();
  }
  const list = $('alarms');
  const items = [...state.alarms.values()].sort((x, y) => y.id - x.id).slice(0, MAX_ALARMS);
  list.replaceChildren(...items.map(alarmItem));
  state.fresh.clear();
  $('alarms-empty').hidden = items.length > 0;
  $('alarm-total').textContent = state.total > 0 ? `(${state.total})` : '';
  $('older').hidden = state.next === null;
}

function alarmItem(a) {
  const acked = a.acknowledged !== null;
  const side = el('div', { className: 'side' });
  if (!acked) {
    const b = el('button', { className: 'ack', text: 'Acknowledge', attrs: { type: 'button', 'data-ack': a.id } });
    b.addEventListener('click', () => act(`Acknowledging alarm ${a.id}`, async () => {
      b.setAttribute('disabled', '');
      try {
        const r = await api.ackAlarm(a.id);
        markAcknowledged(r.alarmIds, state.who ?? 'you');
        refreshAlarmsSoon();
      } finally {
        b.removeAttribute('disabled');
      }
    }));
    side.append(b);
  }
  const chips = el('div', { className: 'chips' },
    el('span', { className: `chip ${a.ended ? '' : 'active'}`, text: a.ended ? 'ended' : 'active' }),
    el('span', { className: `chip ${acked ? 'acked' : ''}`, text: acked ? `ack. ${a.acknowledged.by} ${timeText(a.acknowledged.atNs)}` : 'not acknowledged' }),
    el('span', { className: 'chip', text: `${a.frames} frame${a.frames === 1 ? '' : 's'}` }));
  if (a.evidence !== null && a.evidence.frames > 0) {
    chips.append(
      el('a', { className: 'evidence', text: 'pcap', attrs: { href: api.pcapUrl(a.id), download: `svde-alarm-${a.id}.pcap`, 'data-evidence': 'pcap' } }),
      el('a', { className: 'evidence', text: 'COMTRADE', attrs: { href: api.cffUrl(a.id), download: `svde-alarm-${a.id}.cff`, 'data-evidence': 'cff' } }));
    if (!a.evidence.complete) chips.append(el('span', { className: 'chip', text: 'evidence being written' }));
  }
  const grade = el('span', { className: 'grade', text: `G${a.grade}`, data: { grade: a.grade } });
  const li = el('li', { className: `alarm${state.fresh.has(a.id) ? ' fresh' : ''}`, data: { id: a.id, grade: a.grade, acked: acked, indicator: a.indicator } },
    el('div', { className: 'time', text: timeText(a.firstTsNs), attrs: { title: `${dateText(a.firstTsNs)} · alarm ${a.id}` } }),
    el('div', { className: 'what' }, document.createTextNode(`${LABEL[a.indicator] ?? a.indicator} `), grade, document.createTextNode(` · ${a.stream}`)),
    side,
    el('div', { className: 'reason', text: a.reason }),
    chips);
  return li;
}

function markAcknowledged(ids, by) {
  const atNs = String(BigInt(Date.now()) * 1000000n);
  let changed = false;
  for (const id of ids) {
    const a = state.alarms.get(id);
    if (a && a.acknowledged === null) {
      state.alarms.set(id, { ...a, acknowledged: { by, atNs } });
      changed = true;
    }
  }
  if (changed) renderAlarms();
}

async function loadAlarms() {
  const since = state.liveSeq;
  const page = await api.getAlarms(null, 50);
  const next = new Map(page.items.map((a) => [a.id, a]));
  const newest = page.items.reduce((m, a) => Math.max(m, a.id), 0);
  let extra = 0;
  for (const [id, a] of state.alarms) {
    const liveSince = (state.touched.get(id) ?? 0) > since;
    // Newer than the page (raised while it was read), or changed live while it was read: keep ours.
    if (id > newest) {
      next.set(id, a);
      if (liveSince) extra += 1;
    } else if (liveSince && next.has(id)) next.set(id, a);
  }
  state.alarms = next;
  for (const [id, seq] of state.touched) if (seq <= since) state.touched.delete(id);
  state.total = page.total + extra;
  state.next = page.next;
  renderAlarms();
}

async function loadOlder() {
  if (state.next === null) return;
  const page = await api.getAlarms(state.next, 50);
  for (const a of page.items) state.alarms.set(a.id, a);
  state.next = page.next;
  renderAlarms();
}

let refreshTimer = 0;
/** Re-reads the first page soon (after an acknowledgement by someone else, or a reconnection). */
function refreshAlarmsSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loadAlarms().catch(() => {}), 300);
}

// ---- streams and waveform --------------------------------------------------------------------------------

function renderStreams(streams) {
  state.streams = streams;
  const body = $('streams');
  body.replaceChildren(...streams.map((s) => {
    const st = !s.observed ? 'missing' : !s.configured ? 'unknown' : 'ok';
    const rate = `${Math.round(s.framesPerSecond)}${s.expectedFramesPerSecond !== null ? ` / ${Math.round(s.expectedFramesPerSecond)}` : ''}`;
    const off = s.expectedFramesPerSecond !== null && s.observed && Math.abs(s.framesPerSecond - s.expectedFramesPerSecond) > 0.1 * s.expectedFramesPerSecond;
    const sig = !s.signed ? '—' : s.signatureCoverage === null ? '?' : `${Math.round(s.signatureCoverage * 100)} %`;
    // The row picks the stream for the waveform (click, or Enter when focused).
    const tr = el('tr', { className: s.name === state.stream ? 'chosen' : '', data: { stream: s.name, state: st }, attrs: { tabindex: 0, title: `show ${s.name}'s waveform` } },
      el('td', { className: 'name', text: s.name, attrs: { title: s.bay ? `${s.name} (bay ${s.bay})` : s.name } }),
      el('td', { text: hex4(s.appId) }),
      el('td', { className: 'svid', text: s.svId, attrs: { title: s.svId } }),
      el('td', { text: s.configured ? 'yes' : 'NO' }),
      el('td', { text: s.observed ? 'yes' : 'NO' }),
      el('td', { className: off ? 'bad' : '', text: rate }),
      el('td', { text: s.lastSmpCnt ?? '—' }),
      el('td', { className: s.signed && s.signatureCoverage !== null && s.signatureCoverage < 0.99 ? 'bad' : '', text: sig }));
    tr.addEventListener('click', () => chooseStream(s.name));
    tr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') chooseStream(s.name);
    });
    return tr;
  }));
  const sel = /** @type {HTMLSelectElement} */ ($('stream-select'));
  const names = streams.map((s) => s.name);
  if ([...sel.options].map((o) => o.value).join('\n') !== names.join('\n')) {
    sel.replaceChildren(...names.map((n) => el('option', { text: n, attrs: { value: n } })));
  }
  if (state.stream !== null) sel.value = state.stream;
}

function renderWaveform(w) {
  state.waveform = w;
  $('waveform').dataset.stream = w?.stream ?? '';
  drawWaveform(/** @type {HTMLCanvasElement} */ ($('waveform')), w);
  drawPhasors(/** @type {HTMLCanvasElement} */ ($('phasors')), w);
  const info = $('wave-info');
  info.textContent = w ? `${w.samplesPerSecond} samples/s${w.frequencyHz !== null ? ` · ${w.frequencyHz.toFixed(3)} Hz` : ''} · ${timeText(w.tsNs)}` : '';
  const table = $('phasor-table');
  table.replaceChildren(...(w?.phasors ?? []).map((p, i) => el('tr', {},
    el('td', {}, el('span', { className: `swatch c${colourIndex(p.channel, i)}` })),
    el('td', { text: p.channel }),
    el('td', { text: `${p.magnitude >= 100 ? p.magnitude.toFixed(0) : p.magnitude.toFixed(2)} ${p.unit}` }),
    el('td', { text: `∠ ${p.angleDeg.toFixed(1)}°` }))));
}

function pickStream(streams) {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('stream');
  const saved = fromHash ?? localStorage.getItem('svde.stream');
  if (saved && streams.some((s) => s.name === saved)) return saved;
  return streams.find((s) => s.observed && s.configured)?.name ?? streams[0]?.name ?? null;
}

function chooseStream(name) {
  if (name === state.stream) return;
  state.stream = name;
  $('waveform').dataset.liveUpdates = '0';
  try {
    localStorage.setItem('svde.stream', name);
  } catch {
    // Storage may be disabled; the choice then lasts for this page only.
  }
  renderStreams(state.streams);
  api.getWaveform(name).then(renderWaveform, () => renderWaveform(null));
  connectLive();
}

// ---- live events -----------------------------------------------------------------------------------------

function setConn(s, text) {
  const c = $('conn');
  c.dataset.state = s;
  c.textContent = text;
}

function connectLive() {
  state.es?.close();
  const es = new EventSource(api.liveUrl(state.stream));
  state.es = es;
  const on = (type, fn) => es.addEventListener(type, (ev) => {
    state.lastEvent = Date.now();
    setConn('live', 'live');
    try {
      fn(JSON.parse(ev.data));
    } catch (e) {
      console.warn(`bad ${type} event`, e);
    }
  });
  es.addEventListener('open', () => {
    state.lastEvent = Date.now();
    setConn('live', 'live');
    // Events missed while the connection was down (or being replaced for another stream).
    refreshAlarmsSoon();
  });
  es.addEventListener('error', () => {
    if (state.es !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      // The server refused the stream (not a network blip): find out why through a plain request.
      setConn('offline', 'disconnected');
      const again = () => setTimeout(() => {
        if (state.es === es) connectLive();
      }, 3000);
      api.getStatus().then(again, (e) => {
        if (e instanceof api.ApiError && e.needsLogin) askLogin(`The device needs a token to show its status: ${e.message}`, null);
        else again();
      });
    } else {
      setConn('connecting', 'reconnecting…');
    }
  });
  on('status', renderStatus);
  on('streams', renderStreams);
  on('waveform', (w) => {
    if (w.stream !== state.stream) return;
    const c = $('waveform');
    c.dataset.liveUpdates = String(Number(c.dataset.liveUpdates ?? 0) + 1);
    renderWaveform(w);
  });
  on('alarm', (a) => {
    upsertAlarm(a, true);
    renderAlarmsSoon();
  });
  on('alarm-update', (a) => {
    upsertAlarm(a, false);
    renderAlarmsSoon();
  });
  on('ack', (d) => {
    markAcknowledged(d.alarmIds, d.by);
    refreshAlarmsSoon();
  });
}

// ---- start -----------------------------------------------------------------------------------------------

async function loadAll() {
  const status = await api.getStatus();
  renderStatus(status);
  const { streams } = await api.getStreams();
  if (state.stream === null) state.stream = pickStream(streams);
  renderStreams(streams);
  await loadAlarms();
  if (state.stream !== null) api.getWaveform(state.stream).then(renderWaveform, () => renderWaveform(null));
  else renderWaveform(null);
  api.getSession().then(showWho, () => {});
  pollHealth();
  connectLive();
}

function tick() {
  const now = new Date();
  $('clock').textContent = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  if (state.es && state.lastEvent > 0 && Date.now() - state.lastEvent > STALE_MS && $('conn').dataset.state === 'live') {
    setConn('stale', `no update for ${Math.round((Date.now() - state.lastEvent) / 1000)} s`);
  }
}

async function start() {
  $('login-form').addEventListener('submit', submitLogin);
  $('login-cancel').addEventListener('click', () => {
    state.pending = null;
    /** @type {HTMLDialogElement} */ ($('login')).close();
  });
  $('ack-all').addEventListener('click', () => act('Acknowledging all alarms', async () => {
    const r = await api.ackIndicators({ all: true });
    markAcknowledged(r.alarmIds, state.who ?? 'you');
    refreshAlarmsSoon();
  }));
  $('older').addEventListener('click', () => loadOlder().catch((e) => showError(String(e.message ?? e))));
  $('stream-select').addEventListener('change', (ev) => chooseStream(/** @type {HTMLSelectElement} */ (ev.target).value));
  window.addEventListener('resize', () => renderWaveform(state.waveform));
  setInterval(tick, 1000);
  tick();
  setInterval(pollHealth, 5000);
  try {
    await loadAll();
  } catch (e) {
    if (e instanceof api.ApiError && e.needsLogin) askLogin(`This device needs a token: ${e.message}`, null);
    else {
      showError(`Cannot load the device status: ${e instanceof Error ? e.message : String(e)}`);
      setConn('offline', 'offline');
      setTimeout(start2, 3000);
    }
  }
}

/** Retries the first load until the device answers. */
async function start2() {
  try {
    await loadAll();
    showError('');
  } catch {
    setTimeout(start2, 3000);
  }
}

start();
