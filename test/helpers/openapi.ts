import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { CANONICAL_SCHEMAS } from '../../src/canonical/index.js';

/** The parts of an OpenAPI document the tests read. */
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, Response>; securitySchemes: Record<string, unknown> };
}
export interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  example?: unknown;
  schema?: { format?: string };
}
export interface Response {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
}
export interface Operation {
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, Response>;
}

/** Each operation of a document, with its method (upper case) and path. */
export function operations(doc: OpenApiDoc): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([m, op]) => ({ method: m.toUpperCase(), path, op })));
}

/** A JSON Pointer into the document as a URI fragment (RFC 6901 §6): `~` and `/` escaped, then percent-encoded. */
const pointer = (...parts: string[]) => `#/${parts.map((p) => encodeURIComponent(p.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')}`;

// ajv-formats is CommonJS: its module object is the plugin and also carries it as `default`.
const addFormats = addFormatsModule.default;

/**
 * Validates against the schemas of one OpenAPI 3.1 document with ajv's 2020-12 dialect, each schema
 * found by its place in the document, so `$ref`s resolve as a reader of the document resolves them.
 */
export class DocumentSchemas {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: OpenApiDoc) {
    addFormats(this.ajv);
    for (const byVersion of Object.values(CANONICAL_SCHEMAS)) for (const schema of Object.values(byVersion)) this.ajv.addSchema(schema);
    this.ajv.addSchema(doc as object, 'openapi.json');
  }

  /** The documented answer of an operation for a status (a shared answer followed), or undefined. */
  response(path: string, method: string, status: number): { at: string[]; response: Response } | undefined {
    const r = this.doc.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
    if (!r?.$ref) return r && { at: ['paths', path, method.toLowerCase(), 'responses', String(status)], response: r };
    const name = r.$ref.split('/').at(-1) as string;
    return { at: ['components', 'responses', name], response: this.doc.components.responses[name] as Response };
  }

  /** Problems of `value` against the schema at `at` (path segments into the document); [] when it conforms. */
  problems(at: string[], value: unknown): string[] {
    const validate = this.validator(at);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  }

  /** The validator of the schema at `at`; throws when it is no JSON Schema 2020-12 or a `$ref` in it resolves nowhere. */
  validator(at: string[]): ValidateFunction {
    const ref = `openapi.json${pointer(...at)}`;
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    return validate;
  }
}
