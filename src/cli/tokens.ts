import type { Command } from 'commander';
import { createToken, grantView, listTokens, revokeToken, TOKEN_DEFAULTS, TOKEN_SCOPES, tokenGrant } from '../accounts/tokens.js';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { openStore } from '../store/db.js';
import { action, printJson } from './output.js';

async function withDatabase<T>(cmd: Command, fn: (store: ReturnType<typeof openStore>, pipelines: string[]) => Promise<T>): Promise<T> {
  const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
  const store = openStore(config.database);
  try {
    await store.migrate();
    return await fn(store, Object.keys(config.pipelines));
  } catch (err) {
    // A bad --pipelines/--scopes/--expires is a usage mistake (exit 2), named by its flag.
    if (err instanceof AirlockError && err.code === 'BAD_REQUEST' && /^(pipelines|scopes|expires)\b/.test(err.message))
      throw new AirlockError('USAGE', `--${err.message}`);
    throw err;
  }
}

/** `create|list|revoke` on `parent` (`airlock tokens …`, and the older spelling `airlock users token …`). */
export function addTokenCommands(parent: Command): void {
  parent
    .command('create')
    .description('create a token for a user and print it once (only its hash is stored)')
    .argument('<user>', 'the user it acts as (its role bounds what the token may do)')
    .option('--name <name>', 'what the token is for', 'api')
    .option('--pipelines <list>', `pipelines it may act on, comma-separated, or '*' for all`, TOKEN_DEFAULTS.pipelines)
    .option(
      '--scopes <list>',
      `actions it may take: ${TOKEN_SCOPES.join(', ')} (write: act as the role may), or '*'`,
      TOKEN_DEFAULTS.scopes,
    )
    .option('--expires <duration>', 'how long it works: 30d, 12h, … or never', TOKEN_DEFAULTS.expires)
    .option('--json', 'print { id, token, user, pipelines, scopes, expires_at }')
    .action(
      action(
        async (user: string, opts: { name: string; pipelines: string; scopes: string; expires: string; json?: boolean }, cmd: Command) => {
          const now = Date.now();
          const out = await withDatabase(cmd, async (s, known) => {
            const grant = tokenGrant({ pipelines: opts.pipelines, scopes: opts.scopes, expires: opts.expires }, now, known);
            return { ...(await createToken(s.db, user, opts.name, now, grant)), ...grantView(grant) };
          });
          if (opts.json)
            return printJson({
              id: out.id,
              token: out.token,
              user,
              pipelines: out.pipelines,
              scopes: out.scopes,
              expires_at: out.expires_at,
            });
          process.stdout.write(`${out.token}\n`);
          if (process.stderr.isTTY) {
            process.stderr.write(
              `token #${out.id} for ${user} (pipelines ${out.pipelines.join(',')}; scopes ${out.scopes.join(',')}; expires ${out.expires_at ?? 'never'}): shown once, store it now (AIRLOCK_TOKEN)\n`,
            );
          }
        },
      ),
    );

  parent
    .command('list')
    .description('every token with its user, scopes, expiry, last use and whether it is revoked (never its value)')
    .option(
      '--json',
      'print { tokens: [{ id, name, user, role, pipelines, scopes, created_at, expires_at, expired, last_used_at, revoked, revoked_at }] }',
    )
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const list = await withDatabase(cmd, (s) => listTokens(s.db, Date.now()));
        if (opts.json) return printJson({ tokens: list });
        if (list.length === 0) return void process.stdout.write('no tokens\n');
        for (const t of list) {
          const state = t.revoked ? 'revoked' : t.expired ? 'expired' : 'active';
          process.stdout.write(
            `#${t.id} ${t.user} (${t.role}) "${t.name}" ${state}; pipelines ${t.pipelines.join(',')}; scopes ${t.scopes.join(',')}; ` +
              `created ${t.created_at}; expires ${t.expires_at ?? 'never'}; last used ${t.last_used_at ?? 'never'}\n`,
          );
        }
      }),
    );

  parent
    .command('revoke')
    .description('revoke a token by its number (it stops working at once)')
    .argument('<id>', 'the number `tokens list` shows')
    .option('--json', 'print { id, revoked }')
    .action(
      action(async (raw: string, opts: { json?: boolean }, cmd: Command) => {
        const id = Number(raw.replace(/^#/, ''));
        if (!Number.isSafeInteger(id) || id <= 0) throw new AirlockError('USAGE', `<id> must be a token number such as 3 (got "${raw}")`);
        const ok = await withDatabase(cmd, (s) => revokeToken(s.db, id, Date.now()));
        if (!ok) throw new AirlockError('NOT_FOUND', `no active token #${id}`);
        if (opts.json) return printJson({ id, revoked: true });
        process.stdout.write(`token #${id} revoked\n`);
      }),
    );
}

/** `airlock tokens create|list|revoke`: API tokens on the config's database (with or without a running server). */
export function registerTokensCommands(program: Command): void {
  const tokens = program
    .command('tokens')
    .description(
      `API tokens for machines and automation: scoped to pipelines and actions, with an expiry (default ${TOKEN_DEFAULTS.expires}); stored hashed, shown once`,
    );
  addTokenCommands(tokens);
}
