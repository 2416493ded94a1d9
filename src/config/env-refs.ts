import type { Env } from '../env'
import { ConfigError, type ConfigIssue, childPath } from './config-error'

/** LiteLLM's marker for "read this value from the environment" (`get_secret` in litellm/secret_managers). */
const PREFIX = 'os.environ/'

export interface EnvRefResult {
  value: unknown
  /** One issue per reference whose variable is not set; those strings are left unresolved. */
  issues: ConfigIssue[]
}

/**
 * Replaces every string `os.environ/NAME` anywhere in `value` with `env[NAME]` and throws a
 * ConfigError naming each YAML path and variable that could not be resolved.
 *
 * LiteLLM only treats a value as a reference when the whole string starts with the prefix, so
 * `prefix-os.environ/X` stays literal here too.
 */
export function resolveEnvRefs(value: unknown, env: Env, path: string): unknown {
  const result = collectEnvRefs(value, env, path)
  if (result.issues.length > 0) throw new ConfigError(result.issues)
  return result.value
}

/** Like resolveEnvRefs, but reports missing variables instead of throwing, so they can be merged. */
export function collectEnvRefs(value: unknown, env: Env, path: string): EnvRefResult {
  const issues: ConfigIssue[] = []
  const resolved = walk(value, path, (ref, at) => {
    const name = ref.slice(PREFIX.length)
    const found = env[name]
    if (found !== undefined) return found
    issues.push({ path: at, message: `environment variable ${name} is not set` })
    return ref
  })
  return { value: resolved, issues }
}

/** Whether a value is an `os.environ/NAME` reference. */
export const isEnvRef = (value: unknown): value is string =>
  typeof value === 'string' && value.startsWith(PREFIX)

function walk(value: unknown, path: string, resolve: (ref: string, path: string) => string): unknown {
  if (isEnvRef(value)) return resolve(value, path)
  if (Array.isArray(value)) return value.map((item, index) => walk(item, childPath(path, index), resolve))
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = walk(item, childPath(path, key), resolve)
    return out
  }
  return value
}

/** Only YAML mappings are walked; Dates, Sets and byte arrays from YAML 1.1 tags are left alone. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
