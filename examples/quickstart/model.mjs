// A small local model for the quickstart: keyword scores turned into probabilities with a softmax.
// Any module that exports predict(record) → { label, confidence } or { probs } works as a `module` model.

const KEYWORDS = {
  billing: ['invoice', 'refund', 'charge', 'charged', 'payment', 'card', 'billing', 'price'],
  bug: ['error', 'crash', 'broken', 'bug', 'fails', 'exception', '500', 'not working'],
  account: ['password', 'login', 'log in', 'account', 'locked', 'email change', '2fa'],
  feature: ['feature', 'would be nice', 'request', 'could you add', 'suggestion'],
};

export const version = 'keywords-1';

export function predict(record) {
  const text = `${record.subject ?? ''} ${record.body ?? ''}`.toLowerCase();
  const scores = {};
  for (const [label, words] of Object.entries(KEYWORDS)) {
    scores[label] = words.reduce((s, w) => s + (text.includes(w) ? 1.6 : 0), 0);
  }
  const max = Math.max(...Object.values(scores));
  const exp = Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, Math.exp(v - max)]));
  const total = Object.values(exp).reduce((a, b) => a + b, 0);
  const probs = Object.fromEntries(Object.entries(exp).map(([k, v]) => [k, v / total]));
  return { probs };
}
