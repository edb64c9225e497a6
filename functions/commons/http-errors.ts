import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { ZodError } from 'zod';
import { ClientError } from '#core/restore/errors.ts';

const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'Throttling']);

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/**
 * The one place errors become HTTP answers: validation 400 naming each field and
 * what is allowed; client errors (404, 409, 422) with their message; throttling
 * 429; anything else a generic 500 with the request id. Never a stack trace.
 */
export function errorToResponse(error: unknown, requestId: string, log?: (e: unknown) => void): APIGatewayProxyResult {
  if (error instanceof ZodError) {
    return json(400, {
      error: 'invalid request',
      fields: error.issues.map((i) => ({ field: i.path.join('.') || '(body)', problem: i.message })),
      requestId,
    });
  }
  if (error instanceof ClientError) return json(error.statusCode, { error: error.message, ...error.details, requestId });
  // Powertools idempotency: the same Idempotency-Key with another body, or a retry racing the first request.
  if (error instanceof Error && error.name === 'IdempotencyValidationError') {
    return json(422, { error: 'this Idempotency-Key was already used with a different request', requestId });
  }
  if (error instanceof Error && error.name === 'IdempotencyAlreadyInProgressError') {
    return json(409, { error: 'a request with this Idempotency-Key is still in progress; retry shortly', requestId });
  }
  if (error instanceof Error && THROTTLING.has(error.name)) return json(429, { error: 'too many requests; retry shortly', requestId }, { 'retry-after': '2' });
  log?.(error);
  return json(500, { error: 'internal error', requestId });
}

/** middy middleware applying {@link errorToResponse}. */
export function httpErrors(options: { log?: (e: unknown) => void } = {}): MiddlewareObj<unknown, APIGatewayProxyResult> {
  return {
    onError: (request) => {
      request.response = errorToResponse(request.error, request.context.awsRequestId, options.log);
    },
  };
}
