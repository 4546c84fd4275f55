/**
 * The first stage of loading: YAML (or JSON) text into a plain value, with the line of every setting. Syntax errors,
 * duplicate keys, alias bombs and a top level that is not a mapping are refused here, each with its line.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ConfigError } from '../errors.js';
import type { LineOf } from './problems.js';

interface ParsedConfigText {
  /** The top-level mapping, as plain data. */
  value: Record<string, unknown>;
  lineOf: LineOf;
}

/** Parses config text; `display` names the file in messages. Throws ConfigError. */
export function parseConfigText(text: string, display?: string): ParsedConfigText {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: '',
        // linePos is only filled when prettyErrors is on; the offset is always there.
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
      })),
      display,
    );
  }
  const lineOf: LineOf = (segments) => {
    let node: unknown = doc.contents;
    let last: YamlNode | undefined = doc.contents ?? undefined;
    for (const seg of segments) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        last = (pair.value as YamlNode) ?? (pair.key as YamlNode);
        if (!pair.value) last = pair.key as YamlNode;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (!item) break;
        last = item as YamlNode;
        node = item;
      } else break;
    }
    const offset = last?.range?.[0];
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };

  let value: unknown;
  try {
    value = doc.toJS() ?? {};
  } catch (err) {
    // yaml refuses documents whose aliases expand past its limit (a "billion laughs" bomb).
    throw new ConfigError([{ path: '', message: `not valid YAML: ${(err as Error).message}` }], display);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([{ path: '', message: 'expected a mapping of settings at the top level' }], display);
  }
  return { value: value as Record<string, unknown>, lineOf };
}
