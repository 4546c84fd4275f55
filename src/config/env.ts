/**
 * `${VAR}` and `${VAR:-default}` in the config: expanded in every value (not in keys) before validation, so the
 * validator sees the values the settings will have.
 */
import type { Report, SettingPath } from './problems.js';

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** A whole value that is one `${VAR}` or `${VAR:-default}` reference (the published schema accepts it anywhere). */
export const WHOLE_ENV_REFERENCE = '^\\s*\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}\\s*$';

/** Replaces every reference in the strings of `value`; a variable that is not set is reported where it is used. */
export function expandEnv(value: unknown, env: Record<string, string | undefined>, report: Report, at: SettingPath = []): unknown {
  if (typeof value === 'string') {
    // A scalar that is exactly one ${VAR} takes the variable's YAML type: `port: ${PORT}` is a number.
    const whole = /^\$\{[^}]+\}$/.test(value.trim());
    const expanded = value.replace(ENV_REFERENCE, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      // As in the shell: ${VAR:-default} takes the default when VAR is unset or empty; ${VAR} may be empty.
      if (v !== undefined && (v !== '' || fallback === undefined)) return v;
      if (fallback !== undefined) return fallback;
      report(at, `environment variable ${name} is not set`);
      return '';
    });
    if (whole && /^-?\d+(\.\d+)?$/.test(expanded)) return Number(expanded);
    if (whole && (expanded === 'true' || expanded === 'false')) return expanded === 'true';
    return expanded;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, report, [...at, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty: a `__proto__` key in the file stays a key (and is reported as unknown), never a prototype.
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, {
        value: expandEnv(v, env, report, [...at, k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value;
}
