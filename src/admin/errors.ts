/**
 * The admin API's one error shape, {error, message[, field]}, and the translation of everything
 * that can go wrong into it: schema violations (ajv, naming the field), our own checks (ApiError),
 * fastify's parser errors (bad JSON, wrong content type, body too large) and store failures (503).
 * A 5xx never carries the internal error's text (hosts, ports, Redis replies): its body has a
 * `correlation_id`, and the log line with the error has the same id.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../telemetry/log.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** 400 naming the field: "<field>: <what is wrong>". */
export function bad(field: string, problem: string): ApiError {
  return new ApiError(400, 'bad_request', `${field}: ${problem}`, field);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'not_found', message);
}

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
};

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

const WHERE: Record<string, string> = { body: '', querystring: 'query parameter ', params: 'path parameter ', headers: 'header ' };

/** One ajv error as "<field>: <problem>". */
export function formatValidation(errs: readonly AjvError[], context: string | undefined): { field: string; message: string } {
  const e = errs[0]!;
  const segs = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const p = e.params;
  let problem = e.message ?? 'is invalid';
  switch (e.keyword) {
    case 'required':
      segs.push(String(p.missingProperty));
      problem = 'is required';
      break;
    case 'additionalProperties':
      segs.push(String(p.additionalProperty));
      problem = segs[0] === 'tlvs' && segs.length === 2 ? 'TLV tag must be decimal or 0x-hex (at most 0xFFFF)' : 'is not a known field';
      break;
    case 'enum':
      problem = `must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
      break;
    case 'type':
      problem = `must be of type ${String(p.type).replace(',', ' or ')}`;
      break;
    case 'format':
      problem = p.format === 'date-time' ? 'must be an RFC 3339 date-time with offset, e.g. 2030-01-31T00:00:00Z' : `must be a ${String(p.format)}`;
      break;
    case 'minLength':
      problem = Number(p.limit) === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`;
      break;
    case 'maxLength':
      problem = `must be at most ${String(p.limit)} characters`;
      break;
    case 'pattern':
      problem = `must match ${String(p.pattern)}`;
      break;
  }
  const field = segs.join('.');
  const where = WHERE[context ?? 'body'] ?? '';
  if (!field) {
    const what = !context || context === 'body' ? 'request body' : context;
    return { field: what, message: `${what} ${problem === 'must be of type object' ? 'must be a JSON object' : problem}` };
  }
  return { field, message: `${where}${field}: ${problem}` };
}

/** A 5xx answer: a fixed message and a correlation id, logged with the error's own text. */
export function serverError(
  log: Logger | null,
  req: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  status: number,
  code: string,
  message: string,
): FastifyReply {
  const correlation_id = randomUUID();
  const e = err as Partial<FastifyError> | undefined;
  log?.error({ correlation_id, status, method: req.method, route: req.routeOptions.url ?? req.url.split('?')[0], err: e?.message ?? String(err), code: e?.code }, `HTTP ${status}: ${message}`);
  return reply.code(status).send({ error: code, message, correlation_id });
}

/** The admin API's error handler; 5xx errors go to `log` with their correlation id. */
export function errorHandlerWith(log: Logger | null) {
  return (error: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (error instanceof ApiError) {
      const body = { error: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) };
      // Our own 5xx (a part of the gateway is off) say why in our words; they get an id too.
      if (error.statusCode >= 500) return serverError(log, req, reply, error, error.statusCode, error.code, error.message);
      return reply.code(error.statusCode).send(body);
    }
    const fe = error as FastifyError;
    if (fe.validation) {
      const { field, message } = formatValidation(fe.validation as AjvError[], fe.validationContext);
      return reply.code(400).send({ error: 'bad_request', message, field });
    }
    const status = fe.statusCode ?? 0;
    if (status >= 400 && status < 500) {
      const message = fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(fe.message) ? `request body is not valid JSON: ${fe.message}` : fe.message;
      return reply.code(status).send({ error: CODES[status] ?? 'bad_request', message });
    }
    // Anything else came from the policy store (Redis down or slow): temporary.
    return serverError(log, req, reply, error, 503, 'store_unavailable', 'policy store unavailable, try again (the log has the cause under this correlation_id)');
  };
}

/** The handler without a logger (tests that mount one plugin). */
export const errorHandler = errorHandlerWith(null);
