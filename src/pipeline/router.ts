import type { Prediction } from '../models/adapter.js';

export interface RouteDecision {
  to: 'auto' | 'review';
  threshold: number;
}

/** Confidence at or above the threshold is decided automatically; below it goes to a person. */
export function route(prediction: Pick<Prediction, 'confidence'>, autoAcceptAt: number): RouteDecision {
  return { to: prediction.confidence >= autoAcceptAt ? 'auto' : 'review', threshold: autoAcceptAt };
}
