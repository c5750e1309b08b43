import { fileURLToPath } from 'node:url';

/**
 * The pieces of the OpenAPI document (decision 0039). Each audience of the HTTP app describes its
 * paths in one section file beside this one; document.ts puts the sections together. Adding a route
 * means adding its entry to the section that owns its path prefix.
 *
 * @see https://spec.openapis.org/oas/v3.1.0
 */

/** A JSON Schema (2020-12, the OpenAPI 3.1 dialect) or a `$ref` to one. */
export type Schema = Record<string, unknown>;

/** An OpenAPI Operation Object, kept loose: the coverage test and the renderer check its shape. */
export type Operation = Record<string, unknown>;

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Path Items of one section: the path in OpenAPI form (`/v1/messages/{id}`), then its operations. */
export type Paths = Record<string, Partial<Record<Method, Operation>>>;

export interface Section {
  /** The tag of the section's operations, as the reference page groups them. */
  tag: { name: string; description: string };
  /** Path prefixes this section describes: a route under one of them belongs here. */
  owns: readonly string[];
  paths: Paths;
  /** The section's file, named in the coverage test's failure messages. */
  file: string;
}

/** A section, its file (`src/…/x.ts`, from the source or the build) found from the caller's `import.meta.url`. */
export function section(moduleUrl: string, s: Omit<Section, 'file'>): Section {
  const file = fileURLToPath(moduleUrl).split('/');
  return { ...s, file: `src/${file.slice(file.lastIndexOf('src') + 1).join('/')}`.replace(/\.js$/, '.ts') };
}

/** A reference to a shared schema in components.schemas. */
export const schemaRef = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** A reference to a shared response in components.responses. */
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

/** A JSON answer of `schema`, with an optional example. */
export function json(description: string, schema: Schema, example?: unknown) {
  return { description, content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } } };
}

/** A JSON request body of `schema` with its example (the examples test sends it). */
export function jsonBody(schema: Schema, example: unknown, description?: string) {
  return { required: true, ...(description ? { description } : {}), content: { 'application/json': { schema, example } } };
}

/** The error answers an operation may give, by status: each is the shared ErrorAnswer shape. */
export function errors(...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503)[]) {
  return Object.fromEntries(statuses.map((s) => [String(s), responseRef(`Error${s}`)]));
}

/** A path parameter; `example` where a fixed value works (the examples test uses it), none for ids made at run time. */
export function pathParam(name: string, description: string, schema: Schema = { type: 'string' }, example?: string) {
  return { name, in: 'path', required: true, description, schema, ...(example !== undefined ? { example } : {}) };
}

/** A query parameter. */
export function queryParam(name: string, description: string, schema: Schema = { type: 'string' }) {
  return { name, in: 'query', required: false, description, schema };
}

/** Security requirements by name of the schemes in components.securitySchemes. */
export const SECURITY = {
  partner: [{ partnerApiKey: [] }, { partnerOAuth: [] }, { partnerMtls: [] }],
  erp: [{ erpApiKey: [] }],
  admin: [{ adminApiKey: [] }],
  staff: [{ adminApiKey: [] }, { portalSession: [] }],
  portal: [{ portalSession: [] }],
  webhook: [{ webhookSignature: [] }],
  none: [],
} as const;
