// The local panel as a Fastify plugin: static HTML, CSS and ES modules (no build step), read once at start
// and served from memory with a strict Content-Security-Policy (no inline script or style, same-origin
// requests only). The page talks to the API under /api/v1 of the same server.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

export const PANEL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export interface PanelOptions {
  /** Directory of the static files (default: this module's static/). */
  dir?: string;
}

export const PANEL_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'static');

/** Reads the panel's files (flat directory, known types only). */
export function loadPanelAssets(dir = PANEL_DIR): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(path.join(dir, name));
    out.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  if (!out.has('index.html')) throw new Error(`panel: ${dir} has no index.html`);
  return out;
}

/** Serves `/` (index.html) and `/panel/<file>`. */
export function panelPlugin(opts: PanelOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const assets = loadPanelAssets(opts.dir);
    const send = (reply: FastifyReply, ifNoneMatch: string | undefined, a: Asset): FastifyReply => {
      reply
        .header('content-security-policy', PANEL_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .header('cross-origin-opener-policy', 'same-origin')
        // Revalidate every time: an appliance update must show at once, and the files are small.
        .header('cache-control', 'no-cache')
        .header('etag', a.etag);
      if (ifNoneMatch === a.etag) return reply.code(304).send();
      return reply.header('content-type', a.type).send(a.body);
    };
    const index = assets.get('index.html')!;
    const hide = { schema: { hide: true } };
    app.get('/', hide, (req, reply) => send(reply, req.headers['if-none-match'], index));
    app.get('/panel', hide, (_req, reply) => reply.redirect('/', 301));
    app.get<{ Params: { file: string } }>('/panel/:file', hide, (req, reply) => {
      const a = assets.get(req.params.file);
      if (a === undefined) {
        return reply
          .code(404)
          .header('content-type', 'application/json; charset=utf-8')
          .send({ error: { code: 'NOT_FOUND', message: `no panel file '${req.params.file}'` } });
      }
      return send(reply, req.headers['if-none-match'], a);
    });
  };
}
