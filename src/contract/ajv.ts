import { createRequire } from 'node:module';
import type { Ajv2020, Options } from 'ajv/dist/2020.js';
import type { FormatsPlugin } from 'ajv-formats';

// ajv and ajv-formats are CommonJS packages whose class sits on `exports.default`.
const require = createRequire(import.meta.url);
const Ajv2020Class = (require('ajv/dist/2020') as { default: typeof Ajv2020 }).default;
const addFormats = (require('ajv-formats') as { default: FormatsPlugin }).default;

export type Ajv = Ajv2020;

/** A JSON Schema 2020-12 validator with the standard formats (date-time, email, uri, uuid, …). */
export function createAjv(options: Options): Ajv {
  const ajv = new Ajv2020Class(options);
  addFormats(ajv);
  return ajv;
}
