import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BrainstackError, isBrainstackError, type ErrorCode } from '../errors.js';

/** The JSON body of every error response. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export const errorBodySchema = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
  required: ['code', 'message'],
} as const;

/** Maps fastify's own error codes onto the catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
};

/** Turns any thrown value into a catalogued error, hiding internals of unexpected ones. */
export function toBrainstackError(err: FastifyError | Error): BrainstackError {
  if (isBrainstackError(err)) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation) {
    const where = fastifyError.validationContext ?? 'body';
    return new BrainstackError('validation_failed', `${where}: ${fastifyError.message}`, { details: { context: where } });
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new BrainstackError(mapped, fastifyError.message);
  if (err instanceof SyntaxError && fastifyError.statusCode === 400) return new BrainstackError('invalid_request', `malformed JSON body: ${err.message}`);
  if (fastifyError.statusCode === 408) return new BrainstackError('request_timeout');
  if (fastifyError.statusCode === 413) return new BrainstackError('body_too_large');
  if (fastifyError.statusCode === 415) return new BrainstackError('unsupported_media_type');
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) return new BrainstackError('invalid_request', fastifyError.message);
  return new BrainstackError('internal_error', 'internal error');
}

export function sendError(reply: FastifyReply, error: BrainstackError): FastifyReply {
  const body: ErrorBody = { code: error.code, message: error.message };
  if (error.details) body.details = error.details;
  return reply.code(error.statusCode).headers(error.headers).type('application/json; charset=utf-8').send(body);
}

/** Installs the error and not-found handlers that make every failure a catalogued JSON error. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const error = toBrainstackError(err);
    if (error.code === 'internal_error') request.log.error({ err }, 'unhandled error');
    else request.log.info({ code: error.code }, 'request refused');
    return sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new BrainstackError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`)));
}
