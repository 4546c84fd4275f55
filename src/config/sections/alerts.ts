/** `alerts:`: the sinks every alert goes to (src/alerts/ de-duplicates and sends them). */
import { type Static, Type } from '@sinclair/typebox';
import { choice, EXPECTED, headers, url, whenSetting, withDefault } from './kinds.js';

const webhookSink = Type.Object(
  {
    type: Type.Literal('webhook', { description: 'webhook: each alert is POSTed to `url`.' }),
    url: url('Where alerts are POSTed.'),
    format: withDefault(
      choice(['slack', 'json'], {
        description: 'slack: a Slack incoming-webhook message; json: the alert as JSON.',
        [EXPECTED]: 'one of slack, json',
      }),
      'json',
    ),
    headers: withDefault(headers(), {}),
    include_values: withDefault(
      Type.Boolean({
        description:
          'Send example record values with alerts that have them (e.g. the values of a field that changed). Off by default: alerts carry field names, kinds, counts and record ids only; values never go to the log.',
      }),
      false,
    ),
  },
  { additionalProperties: false },
);

const logSink = Type.Object(
  { type: Type.Literal('log', { description: 'log: each alert is written to the log.' }) },
  { additionalProperties: false },
);

/** One sink; its `type` picks which settings apply. */
const alertSink = Type.Unsafe<Static<typeof webhookSink> | Static<typeof logSink>>({
  type: 'object',
  required: ['type'],
  description: 'A place alerts go: { type: webhook, url, format: slack|json } or { type: log }.',
  properties: {
    type: choice(['webhook', 'log'], { description: 'The kind of sink.', [EXPECTED]: 'one of webhook, log' }),
  },
  allOf: whenSetting('type', { webhook: webhookSink, log: logSink }),
});

export const alertsSettings = withDefault(Type.Array(alertSink, { description: 'Where alerts go.' }), []);

type AlertSinkSettings = Static<typeof alertSink>;

/** One alert sink, resolved. */
export type AlertSinkConfig =
  | { type: 'webhook'; url: string; format: 'slack' | 'json'; headers: Record<string, string>; includeValues: boolean }
  | { type: 'log' };

export function resolveAlertSink(a: AlertSinkSettings): AlertSinkConfig {
  if (a.type === 'log') return { type: 'log' };
  return { type: 'webhook', url: a.url, format: a.format, headers: a.headers, includeValues: a.include_values };
}
