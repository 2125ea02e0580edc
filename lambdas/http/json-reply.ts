import type { APIGatewayProxyResult } from 'aws-lambda';

/** The content type of every reply, errors included. */
export const JSON_CONTENT_TYPE = 'application/json';

/** An API Gateway proxy result carrying `body` as JSON. */
export function jsonReply(
  statusCode: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': JSON_CONTENT_TYPE, ...headers },
    body: JSON.stringify(body),
  };
}
