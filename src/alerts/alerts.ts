import type { Logger } from 'pino';
import type { AlertSinkConfig } from '../config/sections/alerts.js';
import { redirectRefusal, send } from '../outbound/http.js';
import type { Store } from '../store/db.js';

/** One alert. `key` identifies the condition: the same key within the quiet period is counted, not re-sent. */
export interface Alert {
  key: string;
  severity: 'info' | 'warning' | 'critical';
  title: string;
  /** One or two sentences for a person. Field names, kinds and counts only — never record values. */
  text: string;
  fields?: Record<string, string | number | boolean>;
  /** Example record values (e.g. of a field that changed): sent only to sinks with `include_values: true`, never logged. */
  values?: Record<string, unknown>[];
}

export interface AlertSink {
  readonly name: string;
  send(alert: Alert & { count: number; firstRaisedAt: number }): Promise<void>;
}

export class LogSink implements AlertSink {
  readonly name = 'log';
  constructor(private readonly logger: Logger) {}
  async send(alert: Alert & { count: number }): Promise<void> {
    const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
    this.logger[level](
      { alert: { key: alert.key, severity: alert.severity, count: alert.count, ...alert.fields } },
      `ALERT ${alert.title}: ${alert.text}`,
    );
  }
}

/** Text for Slack's mrkdwn: `&`, `<` and `>` escaped (api.slack.com/reference/surfaces/formatting#escaping). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export class WebhookSink implements AlertSink {
  readonly name: string;
  constructor(private readonly config: Extract<AlertSinkConfig, { type: 'webhook' }>) {
    this.name = `webhook ${new URL(config.url).host}`;
  }
  async send(alert: Alert & { count: number; firstRaisedAt: number }): Promise<void> {
    const suffix = alert.count > 1 ? ` (${alert.count} times since ${new Date(alert.firstRaisedAt).toISOString()})` : '';
    // Slack reads <…> as links and mentions (<!channel>, <https://x|text>): every text that can carry a field name from
    // a record is escaped as Slack documents (& < >), so a field named "<!channel>" is shown, not obeyed.
    const title = slackEscape(alert.title);
    const text = slackEscape(alert.text);
    const body =
      this.config.format === 'slack'
        ? {
            text: `*${alert.severity.toUpperCase()}* ${title}: ${text}${suffix}`,
            blocks: [
              { type: 'section', text: { type: 'mrkdwn', text: `*${title}*\n${text}${suffix}` } },
              ...(alert.fields && Object.keys(alert.fields).length > 0
                ? [
                    {
                      type: 'section',
                      fields: Object.entries(alert.fields).map(([k, v]) => ({
                        type: 'mrkdwn',
                        text: `*${slackEscape(k)}*\n${slackEscape(String(v))}`,
                      })),
                    },
                  ]
                : []),
              ...(this.config.includeValues && alert.values
                ? [
                    {
                      type: 'section',
                      text: { type: 'mrkdwn', text: `\`\`\`${slackEscape(JSON.stringify(alert.values, null, 1).slice(0, 2800))}\`\`\`` },
                    },
                  ]
                : []),
            ],
          }
        : {
            key: alert.key,
            severity: alert.severity,
            title: alert.title,
            text: alert.text,
            fields: alert.fields ?? {},
            ...(this.config.includeValues && alert.values ? { values: alert.values } : {}),
            count: alert.count,
            first_raised_at: new Date(alert.firstRaisedAt).toISOString(),
          };
    const res = await send(this.config.url, {
      headers: { 'content-type': 'application/json', ...this.config.headers },
      body: JSON.stringify(body),
      timeoutMs: 10_000,
    });
    if (res.redirectedTo !== undefined) throw new Error(`alert webhook ${redirectRefusal(res)}`);
    if (res.status < 200 || res.status >= 300) throw new Error(`alert webhook answered ${res.status}`);
  }
}

export interface AlertCenterOptions {
  /** An alert with the same key is not re-sent within this period (default 15 minutes). */
  quietPeriodMs?: number;
  now?: () => number;
}

/**
 * Raises alerts through the configured sinks, de-duplicated by key across every process that shares
 * the database: within the quiet period a repeat only increments the alert's count.
 */
export class AlertCenter {
  private readonly sinks: AlertSink[];
  private readonly quietPeriodMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    configs: AlertSinkConfig[],
    private readonly logger: Logger,
    options: AlertCenterOptions = {},
  ) {
    this.sinks = configs.map((c) => (c.type === 'webhook' ? new WebhookSink(c) : new LogSink(logger)));
    this.quietPeriodMs = options.quietPeriodMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Records the alert and sends it unless the same key was sent within the quiet period. Never throws. */
  async raise(alert: Alert): Promise<{ sent: boolean; count: number }> {
    const now = this.now();
    try {
      const decision = await this.store.db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('alerts').selectAll().where('key', '=', alert.key).executeTakeFirst();
        if (!row) {
          await trx
            .insertInto('alerts')
            .values({ key: alert.key, first_raised_at: now, last_raised_at: now, last_sent_at: now, count: 1, message: alert.text })
            .onConflict((oc) => oc.column('key').doNothing())
            .execute();
          return { send: true, count: 1, firstRaisedAt: now };
        }
        const quiet = row.last_sent_at !== null && now - row.last_sent_at < this.quietPeriodMs;
        const count = row.count + 1;
        await trx
          .updateTable('alerts')
          .set({ last_raised_at: now, count, message: alert.text, ...(quiet ? {} : { last_sent_at: now }) })
          .where('key', '=', alert.key)
          .execute();
        return { send: !quiet, count, firstRaisedAt: row.first_raised_at };
      });
      if (decision.send) await this.deliver({ ...alert, count: decision.count, firstRaisedAt: decision.firstRaisedAt });
      return { sent: decision.send, count: decision.count };
    } catch (err) {
      this.logger.error({ err, alert: alert.key }, 'could not record an alert');
      await this.deliver({ ...alert, count: 1, firstRaisedAt: now });
      return { sent: true, count: 1 };
    }
  }

  private async deliver(alert: Alert & { count: number; firstRaisedAt: number }): Promise<void> {
    await Promise.all(
      this.sinks.map(async (sink) => {
        try {
          await sink.send(alert);
        } catch (err) {
          this.logger.warn({ sink: sink.name, alert: alert.key, err: (err as Error).message }, 'alert sink failed');
        }
      }),
    );
  }
}
