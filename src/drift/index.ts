/** Drift monitoring engine (pure): mergeable summaries, two-sample statistics, the per-field and dataset decision. */
export * from './compare.js';
export * from './html.js';
export * from './random.js';
export * from './sketch.js';
export * from './statistics.js';
export * from './summary.js';
export * from './text.js';
