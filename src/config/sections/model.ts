/** A pipeline's `model:`: the adapter that predicts, chosen by `type` (http, module, openai or baseline). */
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext, SettingPath } from '../problems.js';
import { choice, EXPECTED, whenSetting } from './kinds.js';
import { type BaselineModelConfig, baselineModelSettings, resolveBaselineModel } from './model-baseline.js';
import { type HttpModelConfig, httpModelSettings, resolveHttpModel } from './model-http.js';
import { type ModuleModelConfig, moduleModelSettings, resolveModuleModel } from './model-module.js';
import { type OpenAiModelConfig, openAiModelSettings, resolveOpenAiModel } from './model-openai.js';

const MODEL_TYPES = ['http', 'module', 'openai', 'baseline'] as const;

/** `type` picks the branch whose settings apply (an unknown setting is named where it is, as for every block). */
export const modelSettings = Type.Unsafe<
  | Static<typeof httpModelSettings>
  | Static<typeof moduleModelSettings>
  | Static<typeof openAiModelSettings>
  | Static<typeof baselineModelSettings>
>({
  type: 'object',
  required: ['type'],
  description: 'The model adapter: http, module, openai or baseline.',
  properties: {
    type: choice(MODEL_TYPES, { description: 'Which adapter calls the model.', [EXPECTED]: 'one of http, module, openai, baseline' }),
  },
  allOf: whenSetting('type', {
    http: httpModelSettings,
    module: moduleModelSettings,
    openai: openAiModelSettings,
    baseline: baselineModelSettings,
  }),
});

type ModelSettings = Static<typeof modelSettings>;

/** A pipeline's model, resolved. */
export type ModelConfig = HttpModelConfig | ModuleModelConfig | OpenAiModelConfig | BaselineModelConfig;

export function resolveModel(m: ModelSettings, at: SettingPath, ctx: ResolveContext): ModelConfig {
  switch (m.type) {
    case 'http':
      return resolveHttpModel(m);
    case 'module':
      return resolveModuleModel(m, at, ctx);
    case 'openai':
      return resolveOpenAiModel(m, at, ctx);
    case 'baseline':
      return resolveBaselineModel(m, at, ctx);
  }
}
