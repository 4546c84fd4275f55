import type { Command } from 'commander';
import { type AccountRole, addUser, disableUser, listUsers, ROLES, setPassword, setRole } from '../accounts/users.js';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { openStore, type Store } from '../store/db.js';
import { action, printJson } from './output.js';
import { addTokenCommands } from './tokens.js';

async function withStore<T>(cmd: Command, fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
  const store = openStore(config.database);
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The password from AIRLOCK_PASSWORD, else the first line of stdin (never from a flag: flags end up in shell history). */
async function readPassword(): Promise<string> {
  if (process.env.AIRLOCK_PASSWORD) return process.env.AIRLOCK_PASSWORD;
  if (process.stdin.isTTY) {
    throw new AirlockError('USAGE', 'give the password on stdin (e.g. printf %s "$PW" | airlock users add …) or in AIRLOCK_PASSWORD');
  }
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const line = text.split(/\r?\n/)[0];
  if (!line) throw new AirlockError('USAGE', 'stdin held no password');
  return line;
}

function role(v: string): AccountRole {
  if (!ROLES.includes(v as AccountRole)) throw new AirlockError('USAGE', `--role must be one of ${ROLES.join(', ')} (got "${v}")`);
  return v as AccountRole;
}

/** `users add|list|set-role|password|disable` (and `users token …`, the older spelling of `tokens …`): accounts on the config's database. */
export function registerUsersCommands(program: Command): void {
  const users = program
    .command('users')
    .description(
      'people and machines who use the server: roles admin, lead, reviewer, viewer (people) and ingest (machines that send records)',
    );

  users
    .command('add')
    .description('add a user; the password is read from stdin or AIRLOCK_PASSWORD (use --no-password for a token-only account)')
    .argument('<name>', 'the user name (team members in the config refer to it)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, role)
    .option('--no-password', 'no password: the account signs in with API tokens only')
    .option('--json', 'print { name, role, disabled }')
    .action(
      action(async (name: string, opts: { role: AccountRole; password: boolean; json?: boolean }, cmd: Command) => {
        const password = opts.password ? await readPassword() : null;
        const u = await withStore(cmd, (s) => addUser(s.db, name, opts.role, password, Date.now()));
        if (opts.json) return printJson({ name: u.name, role: u.role, disabled: u.disabled });
        process.stdout.write(`added ${u.name} (${u.role})\n`);
      }),
    );

  users
    .command('list')
    .description('every user with their role')
    .option('--json', 'print { users: [{ name, role, disabled }] }')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const list = await withStore(cmd, (s) => listUsers(s.db));
        if (opts.json) return printJson({ users: list.map((u) => ({ name: u.name, role: u.role, disabled: u.disabled })) });
        for (const u of list) process.stdout.write(`${u.name.padEnd(24)} ${u.role.padEnd(9)}${u.disabled ? ' disabled' : ''}\n`);
      }),
    );

  users
    .command('set-role')
    .description("change a user's role")
    .argument('<name>')
    .argument('<role>', `one of ${ROLES.join(', ')}`, role)
    .action(
      action(async (name: string, r: AccountRole, _opts: unknown, cmd: Command) => {
        const u = await withStore(cmd, (s) => setRole(s.db, name, r));
        process.stdout.write(`${u.name} is now ${u.role}\n`);
      }),
    );

  users
    .command('password')
    .description("set a user's password (from stdin or AIRLOCK_PASSWORD); their sessions end")
    .argument('<name>')
    .action(
      action(async (name: string, _opts: unknown, cmd: Command) => {
        const password = await readPassword();
        await withStore(cmd, (s) => setPassword(s.db, name, password));
        process.stdout.write(`password of ${name} changed; their sessions ended\n`);
      }),
    );

  users
    .command('disable')
    .description('disable a user: sessions end, tokens stop working (the account stays for the audit trail)')
    .argument('<name>')
    .action(
      action(async (name: string, _opts: unknown, cmd: Command) => {
        await withStore(cmd, (s) => disableUser(s.db, name, Date.now()));
        process.stdout.write(`${name} disabled\n`);
      }),
    );

  // The older spelling of `airlock tokens …`, kept so scripts written for it keep working.
  addTokenCommands(users.command('token').description('API tokens (same as `airlock tokens`)'));
}
