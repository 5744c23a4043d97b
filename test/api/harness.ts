// Starts the real API on 127.0.0.1:0 around a FakeDevice, with one token per role.
import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiOptions } from '../../src/api/server.ts';
import { TokenStore, type Role } from '../../src/api/tokens.ts';
import type { StoreReader } from '../../src/model/records.ts';
import { FakeDevice, FakeEvidence, type MemoryStore } from './fixtures/device.ts';

export interface Harness<S extends StoreReader = MemoryStore> {
  app: FastifyInstance;
  base: string;
  device: FakeDevice<S>;
  tokens: TokenStore;
  token: Record<Role, string>;
  get(path: string, role?: Role | null, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, role?: Role | null, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

let shared: { tokens: TokenStore; token: Record<Role, string> } | undefined;

/** Tokens cost an scrypt each; the suites share one in-memory store. */
export async function roleTokens(): Promise<{ tokens: TokenStore; token: Record<Role, string> }> {
  if (shared !== undefined) return shared;
  const tokens = TokenStore.inMemory();
  const token = {} as Record<Role, string>;
  for (const role of ['viewer', 'operator', 'engineer', 'master'] as const) token[role] = tokens.add(role, `${role}-test`).token;
  shared = { tokens, token };
  return shared;
}

export async function startApi<S extends StoreReader = MemoryStore>(
  extra: Partial<ApiOptions> = {},
  device?: FakeDevice<S>,
): Promise<Harness<S>> {
  const { tokens, token } = await roleTokens();
  const dev = device ?? (new FakeDevice() as unknown as FakeDevice<S>);
  const app = await buildApi({ device: dev, tokens, evidence: new FakeEvidence(), ...extra });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const base = address.replace('localhost', '127.0.0.1');
  const auth = (role: Role | null | undefined): Record<string, string> =>
    role === null || role === undefined ? {} : { authorization: `Bearer ${token[role]}` };
  return {
    app,
    base,
    device: dev,
    tokens,
    token,
    get: (path, role = 'viewer', init = {}) =>
      fetch(`${base}${path}`, { ...init, headers: { ...auth(role), ...(init.headers as Record<string, string> | undefined) } }),
    post: (path, body, role = 'operator', init = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        ...init,
        headers: { 'content-type': 'application/json', ...auth(role), ...(init.headers as Record<string, string> | undefined) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    close: () => app.close(),
  };
}

export interface ErrorJson {
  error: { code: string; message: string; details?: Array<{ location: string; field: string; message: string }> };
}
