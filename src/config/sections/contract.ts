/** A pipeline's `contract:`: the JSON Schema of one record, in a file or inline, compiled when the config loads. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { type Contract, compileContract } from '../../contract/gate.js';
import type { ResolveContext, SettingPath } from '../problems.js';
import { EXPECTED } from './kinds.js';

export const contractSetting = Type.Unsafe<string | Record<string, unknown>>({
  type: ['string', 'object'],
  description: 'JSON Schema 2020-12 of one record: a file path relative to this config, or the schema inline.',
  [EXPECTED]: 'a path to a JSON Schema file or an inline schema object',
});

/** The compiled contract and where it came from: the file's absolute path, or `inline`. */
export type PipelineContract = Contract & { source: string };

export function resolveContract(
  value: string | Record<string, unknown>,
  at: SettingPath,
  { dir, report }: ResolveContext,
): PipelineContract | undefined {
  try {
    if (typeof value !== 'string') return { ...compileContract(value), source: 'inline' };
    const source = path.resolve(dir, value);
    let text: string;
    try {
      text = readFileSync(source, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let schema: object;
    try {
      schema = JSON.parse(text);
    } catch (err) {
      throw new Error(`${value} is not JSON: ${(err as Error).message}`);
    }
    return { ...compileContract(schema), source };
  } catch (err) {
    report(at, (err as Error).message);
    return undefined;
  }
}
