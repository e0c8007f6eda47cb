import { SQSServiceException } from '@aws-sdk/client-sqs';

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/**
 * True for failures that say nothing about the request itself: throttling, SQS-side (5xx)
 * errors, timeouts and broken connections. Those are worth trying again, for as long as it takes;
 * anything else (a bad request, a missing queue, access denied) is not.
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'AbortError') return false;
  if (error instanceof SQSServiceException) {
    const status = error.$metadata.httpStatusCode ?? 0;
    return (
      error.$fault === 'server' ||
      status >= 500 ||
      status === 429 ||
      error.$retryable !== undefined ||
      /thrott/i.test(error.name)
    );
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return error.name === 'TimeoutError' || error.name === 'RequestTimeout';
}
