import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';

/** The Fastify app as route modules see it: requests and answers typed from each route's TypeBox schemas. */
export type Api = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** `true` when A and B are the same type: ties a list in the API's schemas to the domain's at compile time. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** The `:pipeline` path parameter. */
export const PipelineParam = Type.String({ description: 'A pipeline of the config.' });

/** The pipeline of the config by that name, or 404. */
export function knownPipeline(rt: Runtime, name: string): string {
  if (!rt.config.pipelines[name]) throw new AirlockError('NOT_FOUND', `pipeline "${name}" is not in the config`);
  return name;
}

/** A path id that must be a positive whole number; anything else names nothing (404), as an unknown id does. */
export function positiveId(raw: string, what: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new AirlockError('NOT_FOUND', `${what} ${raw} does not exist`);
  return id;
}
