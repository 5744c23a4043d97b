// The panel's side of the REST API (/api/v1): JSON requests with the session cookie, errors as ApiError.
export const API = '/api/v1';

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
  /** The caller must sign in (no credentials, or a role too low for the action). */
  get needsLogin() {
    return this.status === 401 || this.status === 403;
  }
}

/**
 * @param {string} path under /api/v1
 * @param {{method?: string, body?: unknown}} [opts]
 */
export async function request(path, opts = {}) {
  /** @type {RequestInit} */
  const init = { method: opts.method ?? 'GET', credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' };
  if (opts.body !== undefined) {
    init.headers = { ...init.headers, 'content-type': 'application/json' };
    init.body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the device did not answer (${e instanceof Error ? e.message : String(e)})`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!res.ok) {
    const err = json && typeof json === 'object' && json.error ? json.error : null;
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `${res.status} ${res.statusText}`);
  }
  return json;
}

export const getStatus = () => request('/status');
export const getStreams = () => request('/streams');
export const getHealth = () => request('/health');
export const getSession = () => request('/session');
/** @param {string} name */
export const getWaveform = (name) => request(`/streams/${encodeURIComponent(name)}/waveform`);
/** @param {string | null} cursor */
export const getAlarms = (cursor = null, limit = 50) =>
  request(`/alarms?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
/** @param {number} id */
export const ackAlarm = (id) => request(`/alarms/${id}/ack`, { method: 'POST' });
/** @param {{indicator: string} | {all: true}} target */
export const ackIndicators = (target) => request('/indicators/ack', { method: 'POST', body: target });
/** @param {string} token */
export const login = (token) => request('/login', { method: 'POST', body: { token } });

/** @param {number} id */
export const pcapUrl = (id) => `${API}/alarms/${id}/evidence.pcap`;
/** @param {number} id */
export const cffUrl = (id) => `${API}/alarms/${id}/evidence.cff?format=binary`;
/** @param {string | null} stream */
export const liveUrl = (stream) => `${API}/live${stream ? `?stream=${encodeURIComponent(stream)}` : ''}`;
