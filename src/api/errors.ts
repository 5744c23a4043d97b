// Every error the API returns has one JSON shape, {error: {code, message, details?}}, so the control centre
// and the panel branch on `code` and show `message` as is. Validation errors name the field and the rule.
import { SvdeError } from '../model/errors.ts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PRECONDITION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class ApiError extends SvdeError {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, details?: unknown, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = STATUS[code];
    this.details = details;
    this.headers = headers;
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details !== undefined ? { details: this.details } : {}) } };
  }
}

export const badRequest = (message: string, details?: unknown): ApiError => new ApiError('BAD_REQUEST', message, details);
export const notFound = (message: string): ApiError => new ApiError('NOT_FOUND', message);

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

export interface FieldError {
  /** body, querystring, params or headers. */
  location: string;
  /** Dotted path of the offending field inside its location ('' for the whole location). */
  field: string;
  message: string;
}

/** One precise sentence per Ajv error: which field, what rule, and the allowed values when there is a list. */
export function describeAjvError(location: string, e: AjvError): FieldError {
  let field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  let message = e.message ?? `fails ${e.keyword}`;
  switch (e.keyword) {
    case 'required':
      field = field === '' ? String(e.params['missingProperty']) : `${field}.${String(e.params['missingProperty'])}`;
      message = 'is required';
      break;
    case 'additionalProperties':
      field = field === '' ? String(e.params['additionalProperty']) : `${field}.${String(e.params['additionalProperty'])}`;
      message = 'is not a known field';
      break;
    case 'enum': {
      const allowed = e.params['allowedValues'];
      if (Array.isArray(allowed)) message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    }
    case 'const':
      message = `must be ${JSON.stringify(e.params['allowedValue'])}`;
      break;
    default:
      break;
  }
  return { location, field, message };
}

function fieldText(f: FieldError): string {
  return f.field === '' ? `${f.location} ${f.message}` : `${f.location}.${f.field} ${f.message}`;
}

/** Maps anything thrown in a route or hook to the JSON error shape. */
export function toApiError(err: FastifyError | ApiError | Error): ApiError {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const location = fe.validationContext ?? 'request';
    // anyOf/oneOf wrappers repeat what their branches already said; keep the leaf errors.
    const leaves = fe.validation.filter((v) => v.keyword !== 'anyOf' && v.keyword !== 'oneOf');
    const fields = (leaves.length > 0 ? leaves : fe.validation).map((v) => describeAjvError(location, v));
    const first = fields[0];
    const message = first === undefined ? `${location} is not valid` : fieldText(first);
    return badRequest(fields.length > 1 ? `${message} (and ${fields.length - 1} more)` : message, fields);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', fe.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', `${fe.message}; send application/json`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('body is empty but the content type is application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest(`body is not valid JSON: ${fe.message}`);
    default:
      break;
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 400 && /JSON/i.test(fe.message)) return badRequest(`body is not valid JSON: ${fe.message}`);
  if (status === 400) return badRequest(fe.message);
  if (status === 404) return notFound(fe.message);
  if (status === 413) return new ApiError('PAYLOAD_TOO_LARGE', fe.message);
  if (status === 415) return new ApiError('UNSUPPORTED_MEDIA_TYPE', fe.message);
  if (status === 503) return new ApiError('SERVICE_UNAVAILABLE', fe.message);
  return new ApiError('INTERNAL', 'internal error; the device log has the details');
}

export function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.statusCode).type('application/json; charset=utf-8').send(err.body());
}

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const api = toApiError(err);
  if (api.code === 'INTERNAL') req.log.error({ err }, 'request failed');
  return sendError(reply, api);
}
