import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { mayAct } from './authority.js';
import { BUILT_IN_CASE_TYPES, CASE_TYPES, caseTypeCatalog, caseTypeDefinition } from './case-types.js';
import { caseTypeOf } from './cases.js';

const pipeline = parseConfig(
  `
pipelines:
  tickets:
    model: { type: http, url: "http://127.0.0.1:9/predict" }
    review:
      case_types:
        schema_halt: { sla: 1h }
`,
  { env: {} },
).pipelines.tickets;

describe('the case types', () => {
  it('leave schema halts and dead letters to leads unless the config says otherwise', () => {
    const deadLetter = caseTypeOf(pipeline, 'dead_letter');
    expect(mayAct('reviewer', deadLetter, 'approve', {}).allowed).toBe(false);
    expect(mayAct('reviewer', deadLetter, 'escalate', {}).allowed).toBe(true);
    expect(mayAct('lead', deadLetter, 'approve', {}).allowed).toBe(true);
    // Named in the config: its own actions apply (every action for every role by default).
    expect(mayAct('reviewer', caseTypeOf(pipeline, 'schema_halt'), 'approve', {}).allowed).toBe(true);
    expect(mayAct('reviewer', caseTypeOf(pipeline, 'low_confidence'), 'approve', {}).allowed).toBe(true);
  });

  it('refuse the actions a type does not take, with a sentence saying what it takes', () => {
    for (const name of BUILT_IN_CASE_TYPES) {
      const t = caseTypeDefinition(name);
      if (t.accepts.length < 5) expect(t.refusal, name).toMatch(/approved|label/);
      // A type that takes no label is resolved through its own service, and says so when a label is sent.
      if (!t.takesLabel) expect(t.notLabelled, name).toMatch(/not labelled$/);
    }
    expect(CASE_TYPES.audit_sample.accepts).not.toContain('reject');
    expect(CASE_TYPES.dead_letter.accepts).not.toContain('relabel');
  });

  it('treat a type the config adds like a low-confidence case: decided with a label', () => {
    const custom = caseTypeDefinition('refund_review');
    expect(custom).toMatchObject({ builtIn: false, takesLabel: true, approve: 'decide', reject: 'discard_record' });
    expect(caseTypeOf(pipeline, 'refund_review').actions.reviewer).toContain('approve');
  });

  it('export the table as plain data, for the API and the console', () => {
    const catalog = caseTypeCatalog();
    expect(JSON.parse(JSON.stringify(catalog))).toEqual(catalog);
    expect(catalog.map((t) => t.name)).toEqual(BUILT_IN_CASE_TYPES);
    expect(catalog.find((t) => t.name === 'quarantine')?.action_words.approve).toBe('Release');
  });
});
