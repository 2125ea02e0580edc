import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument } from '../../lambdas/http/openapi-document.js';

type Json = Record<string, unknown>;

const document = openApiDocument() as Json & { paths: Json; components: Json };

/** Whether the document is a valid OpenAPI 3.1 document, by the OpenAPI Initiative's schema. */
export async function openApiDocumentErrors(): Promise<unknown> {
  const validator = new Validator();
  const result = await validator.validate(openApiDocument());
  return { valid: result.valid, version: validator.version, errors: result.errors };
}

// The document's schemas, compiled once; `$ref`s into `#/components` resolve against the document.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(document, 'openapi');

const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
function validatorOf(pointer: string): ReturnType<typeof ajv.compile> {
  let validate = compiled.get(pointer);
  if (!validate) {
    validate = ajv.compile({ $ref: `openapi#${pointer}` });
    compiled.set(pointer, validate);
  }
  return validate;
}

/** The document's path template a request path matches (`/registry/feature-views/{name}`), if any. */
function pathTemplate(path: string): string | undefined {
  const trimmed = path.length > 1 ? path.replace(/\/$/, '') : path;
  return Object.keys(document.paths).find((template) => {
    const pattern = template
      .split('/')
      .map((segment) => (/^\{.+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    return new RegExp(`^${pattern}$`).test(trimmed);
  });
}

const pointerSegment = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The problems of a reply against the document: the route and status must be documented (a route or
 * method the API does not serve answers the generic error response) and the body must match the
 * documented schema; an error body is a JSON string whose content must match `FeastErrorDetail`.
 * Empty when the reply is as documented.
 */
export function replyProblems(method: string, path: string, reply: APIGatewayProxyResult): string[] {
  const template = pathTemplate(path);
  const operation = template
    ? ((document.paths[template] as Json)[method.toLowerCase()] as Json | undefined)
    : undefined;
  const status = String(reply.statusCode);
  const body: unknown = JSON.parse(reply.body);
  if (reply.statusCode >= 400) {
    if (operation && !(operation.responses as Json)[status] && reply.statusCode !== 500) {
      return [`${method} ${template} does not document status ${status}`];
    }
    if (typeof body !== 'string') return [`the error body is not a JSON string: ${reply.body.slice(0, 200)}`];
    return problemsOf(validatorOf('/components/schemas/FeastErrorDetail'), JSON.parse(body));
  }
  if (!operation) return [`${method} ${path} is not in the document`];
  if (!(operation.responses as Json)[status])
    return [`${method} ${template} does not document status ${status}`];
  const pointer = `/paths/${pointerSegment(template ?? '')}/${method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
  return problemsOf(validatorOf(pointer), body);
}

function problemsOf(validate: ReturnType<typeof ajv.compile>, value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((problem) => `${problem.instancePath || '/'} ${problem.message ?? ''}`);
}
