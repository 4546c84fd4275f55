/**
 * The case types Airlock opens by itself, in one table (pure: data and a few predicates over the config).
 *
 * For each built-in type: when it opens, whether a verdict on it is a label, the decisions it accepts and what approve
 * and reject do on it, who may decide it when the config does not say, and its words for people. Every rule that
 * depends on a case type reads this table (cases, decisions, the runbook, readiness); a type the config adds beside
 * these (a custom type) is decided with a label, like low_confidence.
 */

import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { CaseTypeConfig, ReviewAction, Role } from '../config/sections/review.js';
import { defaultCaseType, REVIEW_ACTIONS } from '../config/sections/review.js';
import type { CaseReasons } from '../store/codecs.js';

/** What approve (and relabel, where accepted) does on a case of the type. */
export type ApproveMeaning =
  /** Decides the record with the label (the model's, or the reviewer's on relabel); its deliveries go out. */
  | 'decide'
  /** Records a verdict on an automatic decision, which stands (audit samples measure the automatic decisions). */
  | 'confirm'
  /** Releases the record from quarantine (re-checked against the contract in force; an edited copy may be given). */
  | 'release'
  /** Accepts the schema change: a new contract version, and the halted backlog resumes. */
  | 'accept_change'
  /** Replays the record's dead letters (same idempotency keys). */
  | 'replay';

/** What reject does on a case of the type; null: a case of the type is not rejected. */
export type RejectMeaning = 'discard_record' | 'reject_change' | 'discard_dead_letters' | null;

/** One case type: the rules and words that depend on it. */
export interface CaseTypeDefinition {
  name: string;
  /** Opened by Airlock itself (false: a type the config adds). */
  builtIn: boolean;
  /** When Airlock opens one, as a clause for people (the runbook: "Opens when …"). */
  opensWhen: string;
  /** Whether Airlock can open one for this pipeline (the runbook checks only those, and the ones configured). */
  occursIn(p: PipelineConfig): boolean;
  /** A verdict on it is a label (approve takes the model's, relabel gives another); false: it acts on something else. */
  takesLabel: boolean;
  /** The verdict says whether the model's label was right: a label for the feedback loop and the realised accuracy. */
  judgesModel: boolean;
  /** What approve does on it (and relabel, where it accepts relabel). */
  approve: ApproveMeaning;
  /** What reject does on it. */
  reject: RejectMeaning;
  /** The actions a case of the type accepts; another one is answered 400 with `refusal`. */
  accepts: readonly ReviewAction[];
  /** Why an action the type does not accept is refused (a whole sentence without its full stop). */
  refusal?: string;
  /** Why a case of the type is not resolved with a label, after "review case N " (types that take no label). */
  notLabelled?: string;
  /**
   * What each role may do when the config does not name the type (per role; a role left out may take every
   * action). A schema halt stops or resumes a whole pipeline and a replay sends to a vendor again: by default those
   * are a lead's call, as their own routes require.
   */
  defaultActions: Partial<Record<Exclude<Role, 'viewer'>, readonly ReviewAction[]>>;
  /** Words for people: a title, one line on why such a case exists, and the name of each action on it. */
  text: { title: string; explanation: string; actions: Record<ReviewAction, string> };
}

/** The names of the actions as most case types show them; a type overrides the ones it gives another meaning. */
const ACTION_WORDS: Record<ReviewAction, string> = {
  approve: 'Approve',
  relabel: 'Change label',
  reject: 'Reject',
  request_info: 'Request info',
  escalate: 'Escalate',
};

const LEADS_DECIDE: CaseTypeDefinition['defaultActions'] = { reviewer: ['request_info', 'escalate'] };
const EVERY_ACTION = REVIEW_ACTIONS;
const NOT_RELABELLED = REVIEW_ACTIONS.filter((a) => a !== 'relabel');

/** The built-in case types, in the order the runbook lists them (the names of src/store/codecs.ts CaseReasons). */
export const CASE_TYPES = {
  low_confidence: {
    name: 'low_confidence',
    builtIn: true,
    opensWhen: 'the calibrated confidence of a prediction is below the auto-accept threshold',
    occursIn: () => true,
    takesLabel: true,
    judgesModel: true,
    approve: 'decide',
    reject: 'discard_record',
    accepts: EVERY_ACTION,
    defaultActions: {},
    text: {
      title: 'Low confidence',
      explanation: 'the calibrated confidence is below the auto-accept threshold',
      actions: ACTION_WORDS,
    },
  },
  policy_review: {
    name: 'policy_review',
    builtIn: true,
    opensWhen: 'a routing rule (never_auto, review_when) sends the record to a person',
    occursIn: (p) => p.routing.neverAuto.length > 0 || p.routing.reviewWhen.length > 0,
    takesLabel: true,
    judgesModel: true,
    approve: 'decide',
    reject: 'discard_record',
    accepts: EVERY_ACTION,
    defaultActions: {},
    text: {
      title: 'Policy review',
      explanation: 'a routing rule sends the record to a person whatever the confidence',
      actions: ACTION_WORDS,
    },
  },
  audit_sample: {
    name: 'audit_sample',
    builtIn: true,
    opensWhen: 'an automatic decision is drawn for audit (routing.audit_rate)',
    occursIn: (p) => p.routing.auditRate > 0,
    takesLabel: true,
    judgesModel: true,
    approve: 'confirm',
    reject: null,
    accepts: REVIEW_ACTIONS.filter((a) => a !== 'reject'),
    refusal: 'an audit sample takes a label (approve or relabel), not reject',
    defaultActions: {},
    text: {
      title: 'Audit sample',
      explanation: 'a random audit of automatic decisions (the record was decided and delivered)',
      actions: ACTION_WORDS,
    },
  },
  model_failure: {
    name: 'model_failure',
    builtIn: true,
    opensWhen: 'the model refused a record or answered it with something invalid',
    occursIn: () => true,
    takesLabel: true,
    judgesModel: false,
    approve: 'decide',
    reject: 'discard_record',
    accepts: EVERY_ACTION,
    defaultActions: {},
    text: {
      title: 'Model failure',
      explanation: 'the model could not score this record',
      actions: ACTION_WORDS,
    },
  },
  quarantine: {
    name: 'quarantine',
    builtIn: true,
    opensWhen: 'a record breaks its contract and the gate quarantines it',
    occursIn: (p) => p.contract !== undefined,
    takesLabel: false,
    judgesModel: false,
    approve: 'release',
    reject: 'discard_record',
    accepts: EVERY_ACTION,
    notLabelled: 'is a quarantine case: its record is released or discarded, not labelled',
    defaultActions: {},
    text: {
      title: 'Quarantined record',
      explanation: 'the record breaks the contract',
      actions: { ...ACTION_WORDS, approve: 'Release', relabel: 'Release', reject: 'Discard' },
    },
  },
  schema_halt: {
    name: 'schema_halt',
    builtIn: true,
    opensWhen: 'a structural change crossed gate.halt_after and the pipeline halted',
    occursIn: (p) => p.contract !== undefined && Object.values(p.gate.policies).includes('halt'),
    takesLabel: false,
    judgesModel: false,
    approve: 'accept_change',
    reject: 'reject_change',
    accepts: NOT_RELABELLED,
    refusal: 'a schema halt is approved (accepted) or rejected',
    notLabelled: 'is a schema halt: the change is accepted or rejected, not labelled',
    defaultActions: LEADS_DECIDE,
    text: {
      title: 'Schema halt',
      explanation: 'the pipeline is halted on a schema change',
      actions: { ...ACTION_WORDS, approve: 'Accept the change', reject: 'Reject the change', relabel: 'Relabel' },
    },
  },
  dead_letter: {
    name: 'dead_letter',
    builtIn: true,
    opensWhen: 'a destination refused a delivery for good',
    occursIn: (p) => Object.keys(p.destinations).length > 0,
    takesLabel: false,
    judgesModel: false,
    approve: 'replay',
    reject: 'discard_dead_letters',
    accepts: NOT_RELABELLED,
    refusal: 'a dead letter is approved (replayed) or rejected (discarded)',
    notLabelled: 'is a dead letter: its delivery is replayed or abandoned, not labelled',
    defaultActions: LEADS_DECIDE,
    text: {
      title: 'Dead letter',
      explanation: 'a destination refused the delivery for good',
      actions: { ...ACTION_WORDS, approve: 'Replay', reject: 'Discard', relabel: 'Relabel' },
    },
  },
} satisfies Record<keyof CaseReasons, CaseTypeDefinition>;

/** A case type Airlock opens by itself. */
export type BuiltInCaseType = keyof typeof CASE_TYPES;

/** The built-in case type names, in the runbook's order. */
export const BUILT_IN_CASE_TYPES = Object.keys(CASE_TYPES) as BuiltInCaseType[];

export function isBuiltInCaseType(name: string): name is BuiltInCaseType {
  return Object.hasOwn(CASE_TYPES, name);
}

/** The definition of a case type: a built-in one, or a type the config adds (decided with a label). */
export function caseTypeDefinition(name: string): CaseTypeDefinition {
  if (isBuiltInCaseType(name)) return CASE_TYPES[name];
  return {
    name,
    builtIn: false,
    opensWhen: 'the config names it',
    occursIn: () => true,
    takesLabel: true,
    judgesModel: false,
    approve: 'decide',
    reject: 'discard_record',
    accepts: EVERY_ACTION,
    defaultActions: {},
    text: { title: name, explanation: `a ${name} case of this pipeline's config`, actions: ACTION_WORDS },
  };
}

/** The settings of a case type the config does not name: the defaults, with the type's default authority. */
export function unconfiguredCaseType(type: string): CaseTypeConfig {
  const d = defaultCaseType();
  for (const [role, actions] of Object.entries(caseTypeDefinition(type).defaultActions))
    d.actions[role as keyof CaseTypeConfig['actions']] = [...actions];
  return d;
}

/** A case type a pipeline's people must cover, with its settings (the config's, or the type's defaults). */
export interface PipelineCaseType {
  name: string;
  builtIn: boolean;
  /** Whether Airlock can open one for the pipeline (a configured built-in type may never occur). */
  occurs: boolean;
  config: CaseTypeConfig;
}

/** The case types of a pipeline: the built-in ones that can occur or are configured, then every custom one. */
export function pipelineCaseTypes(p: PipelineConfig): PipelineCaseType[] {
  const out: PipelineCaseType[] = [];
  for (const name of BUILT_IN_CASE_TYPES) {
    const occurs = CASE_TYPES[name].occursIn(p);
    const config = p.review.caseTypes[name];
    if (occurs || config) out.push({ name, builtIn: true, occurs, config: config ?? unconfiguredCaseType(name) });
  }
  for (const [name, config] of Object.entries(p.review.caseTypes)) {
    if (!isBuiltInCaseType(name)) out.push({ name, builtIn: false, occurs: true, config });
  }
  return out;
}

/** The built-in types whose verdicts judge the model's label (the feedback loop, the realised accuracy). */
export const MODEL_JUDGING_CASE_TYPES = BUILT_IN_CASE_TYPES.filter((t) => CASE_TYPES[t].judgesModel);

/** The catalog as data (no functions), e.g. for the HTTP API and the console: one entry per built-in type. */
export function caseTypeCatalog() {
  return BUILT_IN_CASE_TYPES.map((name) => {
    const t: CaseTypeDefinition = CASE_TYPES[name];
    return {
      name,
      title: t.text.title,
      explanation: t.text.explanation,
      opens_when: t.opensWhen,
      takes_label: t.takesLabel,
      judges_model: t.judgesModel,
      approve: t.approve,
      reject: t.reject,
      accepts: [...t.accepts],
      default_actions: Object.fromEntries(Object.entries(t.defaultActions).map(([role, actions]) => [role, [...actions]])),
      action_words: { ...t.text.actions },
    };
  });
}
