import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';

/** The stable error codes of Airlock; each maps to one HTTP status and one CLI exit code. */
export type AirlockErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'CONTRACT_INVALID'
  | 'CONTRACT_VIOLATION'
  | 'BAD_REQUEST'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'DATABASE_UNAVAILABLE'
  | 'MODEL_UNAVAILABLE'
  | 'MODEL_REJECTED'
  | 'INTERNAL';

const HTTP_STATUS: Record<AirlockErrorCode, number> = {
  CONFIG_INVALID: 500,
  USAGE: 400,
  CONTRACT_INVALID: 500,
  CONTRACT_VIOLATION: 422,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  DATABASE_UNAVAILABLE: 503,
  MODEL_UNAVAILABLE: 503,
  MODEL_REJECTED: 502,
  INTERNAL: 500,
};

/** CLI exit codes (docs/design.md): 1 a check found problems, 2 usage or config error. */
const EXIT_CODE: Partial<Record<AirlockErrorCode, number>> = {
  CONFIG_INVALID: 2,
  USAGE: 2,
  CONTRACT_INVALID: 2,
  CONTRACT_VIOLATION: 1,
};

export class AirlockError extends Error {
  readonly code: AirlockErrorCode;
  /** Extra data for problem details (e.g. the list of config problems or violations). */
  readonly details?: unknown;
  /** HTTP headers the answer carries (e.g. Retry-After on 429). */
  readonly headers?: Record<string, string>;

  constructor(code: AirlockErrorCode, message: string, details?: unknown, headers?: Record<string, string>) {
    super(message);
    this.name = 'AirlockError';
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  get exitCode(): number {
    return EXIT_CODE[this.code] ?? 1;
  }
}

/** One problem in the config file: where it is and what was expected. */
export interface ConfigProblem {
  /** Dotted path in the file, e.g. `pipelines.tickets.model.url`. */
  path: string;
  /** 1-based line in the file when known. */
  line?: number;
  message: string;
}

export class ConfigError extends AirlockError {
  readonly problems: ConfigProblem[];
  readonly file?: string;

  constructor(problems: ConfigProblem[], file?: string) {
    super('CONFIG_INVALID', formatConfigProblems(problems, file), problems);
    this.problems = problems;
    this.file = file;
  }
}

export function formatConfigProblems(problems: ConfigProblem[], file?: string): string {
  return problems
    .map((p) => {
      const where = file ? `${file}${p.line ? `:${p.line}` : ''}: ` : p.line ? `line ${p.line}: ` : '';
      // A path that starts or ends with blanks (a key such as " ") is quoted, so it can be seen.
      const at = /^\s|\s$/.test(p.path) ? JSON.stringify(p.path) : p.path;
      return `${where}${at ? `${at}: ` : ''}${p.message}`;
    })
    .join('\n');
}

/**
 * Says why and where JSON text is invalid: the parser's reason, then the line, column and offset of the first
 * error (`unexpected end of input at line 3, column 9 (offset 41)`). Record values are never quoted.
 */
export function describeJsonError(text: string, err?: Error): string {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return err?.message ?? 'not valid JSON';
  const reason = printParseErrorCode(first.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  const pos = first.offset;
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `${reason} at line ${line}, column ${column} (offset ${pos})`;
}

/** Where the first byte that is not valid UTF-8 is: its offset, line and column (in bytes), or undefined when all are. */
export function findInvalidUtf8(bytes: Uint8Array): { offset: number; line: number; column: number } | undefined {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      if (b === 0x0a) {
        line++;
        lineStart = i + 1;
      }
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return { offset: i, line, column: i - lineStart + 1 };
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return { offset: i, line, column: i - lineStart + 1 };
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates (U+D800–U+DFFF encoded as bytes) and code points past U+10FFFF.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return { offset: i, line, column: i - lineStart + 1 };
    i += need + 1;
  }
  return undefined;
}
