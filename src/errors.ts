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

/** CLI exit codes (DESIGN.md): 1 a check found problems, 2 usage or config error. */
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
      return `${where}${p.path ? `${p.path}: ` : ''}${p.message}`;
    })
    .join('\n');
}
