/** A pipeline's `redact:`: record fields the API shows as "[redacted]" to the viewer role (src/pipeline/redaction.ts). */
import { Type } from '@sinclair/typebox';
import { EXPECTED, withDefault } from './kinds.js';

export const redactSetting = withDefault(
  Type.Array(Type.String({ pattern: '^[^.\\s]+(\\.[^.\\s]+)*$', [EXPECTED]: 'a dotted field path such as customer.email' }), {
    description:
      'Field paths in the record (dotted, `*` for any key or list item, e.g. customer.email, body, items.*.iban) that the API shows as "[redacted]" to the viewer role.',
  }),
  [],
);
