import { Type } from '@sinclair/typebox';
import { createToken, grantView, listTokens, revokeToken, tokenGrant } from '../accounts/tokens.js';
import { type User as Account, type AccountRole, addUser, disableUser, listUsers, setPassword, setRole } from '../accounts/users.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { ADMINS, read, write } from './access.js';
import { ok, problems } from './answers.js';
import type { Api } from './api.js';
import { NewToken, Role, TokenView, User } from './schemas/accounts.js';
import { Nullable } from './schemas/common.js';

/** A user as the API shows it: never an id or a password hash. */
export function userView(u: Account): User {
  return { name: u.name, role: u.role, disabled: u.disabled };
}

const NameParams = Type.Object({ name: Type.String({ description: 'A user name.' }) });

/** A list of names, or the same as one comma-separated string (`a,b`, `*`). */
const NameList = (description: string) =>
  Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.String())], { description, 'x-expected': 'a list of names or a comma-separated string' }),
  );

/** Users and API tokens (admins only): list, add, change a role or password, disable; create and revoke tokens. */
export function registerUserRoutes(app: Api, rt: Runtime): void {
  const { db } = rt.store;

  app.get(
    '/v1/users',
    {
      schema: {
        operationId: 'listUsers',
        summary: 'Users',
        tags: ['admin'],
        response: { 200: ok(Type.Object({ users: Type.Array(User) }), 'Every user.') },
      },
      config: { access: read(ADMINS) },
    },
    async () => ({ users: (await listUsers(db)).map(userView) }),
  );

  app.post(
    '/v1/users',
    {
      schema: {
        operationId: 'addUser',
        summary: 'Add a user',
        tags: ['admin'],
        body: Type.Object({
          name: Type.String(),
          role: Role,
          password: Type.Optional(
            Nullable(Type.String({ description: 'At least 10 characters; none: the user signs in with tokens only.' })),
          ),
        }),
        response: { 201: ok(User, 'Added.'), ...problems({ 409: 'The user exists.' }) },
      },
      config: { access: write(ADMINS), review: null },
    },
    async (req, reply) => {
      const { name, role, password } = req.body;
      const user = await addUser(db, name, role, password ?? null, rt.clock.now());
      reply.code(201);
      return userView(user);
    },
  );

  app.patch(
    '/v1/users/:name',
    {
      schema: {
        operationId: 'changeUser',
        summary: 'Change a user: role, password, or disable',
        tags: ['admin'],
        params: NameParams,
        body: Type.Object({
          role: Type.Optional(Role),
          password: Type.Optional(Type.String()),
          disabled: Type.Optional(Type.Boolean({ description: 'true disables the account (its sessions and tokens stop).' })),
        }),
        response: { 200: ok(User, 'The user as changed.'), ...problems({ 404: 'No such user.' }) },
      },
      config: { access: write(ADMINS), review: null },
    },
    async (req) => {
      const { name } = req.params;
      const body = req.body;
      if (body.role !== undefined) await setRole(db, name, body.role as AccountRole);
      if (body.password !== undefined) await setPassword(db, name, body.password);
      if (body.disabled === true) await disableUser(db, name, rt.clock.now());
      const u = (await listUsers(db)).find((x) => x.name === name);
      if (!u) throw new AirlockError('NOT_FOUND', `user ${name} does not exist`);
      return userView(u);
    },
  );

  app.get(
    '/v1/tokens',
    {
      schema: {
        operationId: 'listTokens',
        summary: 'Tokens: their reach and use, never their values',
        tags: ['admin'],
        response: { 200: ok(Type.Object({ tokens: Type.Array(TokenView) }), 'Every token.') },
      },
      config: { access: read(ADMINS) },
    },
    async () => ({ tokens: await listTokens(db, rt.clock.now()) }),
  );

  app.post(
    '/v1/users/:name/tokens',
    {
      schema: {
        operationId: 'createToken',
        summary: 'Create an API token for a user (its value is answered once)',
        tags: ['admin'],
        params: NameParams,
        body: Type.Object({
          name: Type.Optional(Nullable(Type.String({ description: "The token's name (default api)." }))),
          pipelines: NameList('Pipelines it may act on, or * (default: every pipeline).'),
          scopes: NameList('ingest, read, write, or * (default: ingest,read).'),
          expires: Type.Optional(Nullable(Type.String({ description: 'A duration such as 30d, or never (default 90d).' }))),
        }),
        response: {
          201: ok(NewToken, 'Created: store the token now.'),
          ...problems({ 404: 'No such user.', 409: 'The user is disabled.' }),
        },
      },
      config: { access: write(ADMINS), review: null },
    },
    async (req, reply) => {
      const body = req.body;
      const now = rt.clock.now();
      const grant = tokenGrant(
        { pipelines: body.pipelines, scopes: body.scopes, expires: body.expires ?? undefined },
        now,
        Object.keys(rt.config.pipelines),
      );
      const out = await createToken(db, req.params.name, body.name ?? 'api', now, grant);
      reply.code(201);
      return { id: out.id, token: out.token, ...grantView(grant), note: 'shown once: store it now' };
    },
  );

  app.delete(
    '/v1/tokens/:id',
    {
      schema: {
        operationId: 'revokeToken',
        summary: 'Revoke a token',
        tags: ['admin'],
        params: Type.Object({ id: Type.String({ description: 'A token id (a positive whole number).' }) }),
        response: {
          200: ok(Type.Object({ id: Type.Integer(), revoked: Type.Literal(true) }), 'Revoked.'),
          ...problems({ 404: 'No such active token.' }),
        },
      },
      config: { access: write(ADMINS), review: null },
    },
    async (req) => {
      const id = Number(req.params.id);
      if (!(Number.isSafeInteger(id) && (await revokeToken(db, id, rt.clock.now())))) {
        throw new AirlockError('NOT_FOUND', `no active token ${req.params.id}`);
      }
      return { id, revoked: true as const };
    },
  );
}
