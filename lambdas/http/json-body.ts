import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ApiError } from './api-error.js';

const BYTE_ORDER_MARK = '\uFEFF';

/**
 * The request body as JSON. It is decoded from base64 when API Gateway says so (binary media types), its
 * size checked before anything is parsed (413 `BODY_TOO_LARGE`), a leading byte order mark dropped, and it
 * is parsed whatever `content-type` says: Feast clients and `curl -d` often send none or
 * `application/x-www-form-urlencoded`, and a body that is not JSON is refused as `INVALID_JSON` anyway.
 * @example parseJsonBody({ body: '{"entities": {}}', isBase64Encoded: false }, 1024) // { entities: {} }
 */
export function parseJsonBody(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>,
  maxBodyBytes: number,
): unknown {
  const { body } = event;
  if (body === null || body === undefined || body === '') {
    throw new ApiError(400, 'INVALID_JSON', 'the request has no body; send a JSON object');
  }
  const decoded = event.isBase64Encoded ? Buffer.from(body, 'base64') : undefined;
  const size = decoded === undefined ? Buffer.byteLength(body, 'utf8') : decoded.byteLength;
  if (size > maxBodyBytes) {
    throw new ApiError(
      413,
      'BODY_TOO_LARGE',
      `the body is ${size} bytes; at most ${maxBodyBytes} bytes are allowed per request, so split the request`,
    );
  }
  const text = decoded === undefined ? body : decoded.toString('utf8');
  try {
    return JSON.parse(text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text);
  } catch (error) {
    throw new ApiError(
      400,
      'INVALID_JSON',
      `the body is not valid JSON (${(error as Error).message}); send a JSON object`,
      { cause: error },
    );
  }
}
