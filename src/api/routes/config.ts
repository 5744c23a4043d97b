// The configuration file, for engineers: read it with its version, replace it (applied at the next start).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ConfigurationAdmin } from '../../config/admin.ts';
import { ApiError, badRequest, notFound } from '../errors.ts';
import { requirePrincipal } from '../plugins/auth.ts';
import { defineRoute, ENGINEER, ERR } from '../route.ts';
import * as S from '../schemas.ts';

/** `configuration` is absent in the embedded demo. */
const config: FastifyPluginAsync<{ configuration: ConfigurationAdmin | undefined }> = async (app, opts) => {
  const configuration = (): ConfigurationAdmin => {
    if (opts.configuration === undefined)
      throw notFound('this appliance runs without a configuration file (embedded demo): nothing to read or change');
    return opts.configuration;
  };

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/config',
      access: ENGINEER,
      tags: ['configuration'],
      summary: 'the configuration file and whether it is running',
      description: 'sha256 identifies the version for a later PUT (If-Match); pending = the file waits for a restart.',
      response: { 200: S.ConfigurationSchema, ...ERR },
    },
    (_req, reply) => {
      const c = configuration().current();
      return reply.header('etag', `"${c.sha256}"`).send(c);
    },
  );

  defineRoute(
    app,
    {
      method: 'PUT',
      url: '/config',
      access: ENGINEER,
      tags: ['configuration'],
      summary: 'replace the configuration file (applied at the next start)',
      description:
        'Validated exactly as `svde run --config` validates (schema, SCL cross-check); every bad field is named in details. ' +
        'Written atomically, the previous file kept as <file>.prev, the change logged as an event. If-Match guards against overwriting a newer version.',
      body: S.ConfigurationBody,
      headers: S.IfMatchHeaders,
      response: { 200: S.ConfigurationPutSchema, ...ERR },
    },
    (req: FastifyRequest<{ Body: Record<string, unknown>; Headers: { 'if-match'?: string } }>) => {
      const ifMatch = req.headers['if-match']
        ?.trim()
        .replace(/^W\//, '')
        .replace(/^"(.*)"$/, '$1');
      const r = configuration().replace(req.body, requirePrincipal(req).name, ifMatch);
      if (!r.ok && r.reason === 'conflict') {
        throw new ApiError(
          'PRECONDITION_FAILED',
          `the configuration changed since version ${ifMatch}; the file is now ${r.currentSha256}: GET it again and reapply the change`,
          { currentSha256: r.currentSha256 },
        );
      }
      if (!r.ok) {
        throw badRequest(
          `the configuration is not valid: ${r.issues.map((i) => `${i.path === '' ? '(document)' : i.path}: ${i.message}`).join('; ')}`,
          r.issues.map((i) => ({ location: 'body', field: i.path.replace(/^\//, '').replace(/\//g, '.'), message: i.message })),
        );
      }
      return { configuration: r.document, restartRequired: r.document.pending, warnings: r.warnings };
    },
  );
};

export default config;
