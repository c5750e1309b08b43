import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import mappingSchema from './mapping.schema.json' with { type: 'json' };
import partnerSchema from './partner.schema.json' with { type: 'json' };

/** The compiled JSON Schemas of partner and mapping profiles (one Ajv for both, compiled once). */

// ajv-formats is CommonJS: its module object is the plugin and also carries it as `default`.
const addFormats = addFormatsModule.default;

// strictRequired is off: the mapping schema's anyOf (extends, or source+target+fields) names properties declared beside it.
// verbose: errors carry the value found and the schema, so a complaint can name both.
const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv, ['date']);
export const validatePartner = ajv.compile(partnerSchema);
export const validateMapping = ajv.compile(mappingSchema);
/** The x12 and edifact sections alone: applying their defaults gives a partner built in code its settings. */
export const validateX12 = ajv.compile({ type: 'object', properties: { x12: partnerSchema.properties.x12 } });
export const validateEdifact = ajv.compile({ type: 'object', properties: { edifact: partnerSchema.properties.edifact } });
