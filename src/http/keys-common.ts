import type { IRequest } from 'itty-router'
import type { z } from 'zod'
import { GatewayError } from '../errors'
import { dbNotConnected } from '../keys/litellm-error'
import type { Caller } from '../keys/virtual-key'
import { readJsonBody } from '../openai/read-json-body'
import { validate } from '../openai/validate'
import type { Stores } from '../store/stores'
import type { Gateway } from './context'
import { NUL_MESSAGE } from './keys-schemas'

/** What LiteLLM records as `created_by` / `updated_by` for the master key (`litellm_proxy_admin_name`). */
export const ADMIN_ACTOR = 'default_user_id'

/**
 * Authenticates, then requires a database (LiteLLM's 500 `db_not_connected_error` on every
 * management route without one).
 */
export async function callerWithStores(
  request: Request,
  gw: Gateway,
): Promise<{ caller: Caller; stores: Stores }> {
  const caller = await gw.authenticate(request)
  if (!gw.stores) throw dbNotConnected()
  return { caller, stores: gw.stores }
}

/** The management routes are the proxy admin's (the master key); virtual keys get 403. */
export async function requireAdmin(
  request: Request,
  gw: Gateway,
): Promise<{ caller: Caller; stores: Stores }> {
  const found = await callerWithStores(request, gw)
  if (!found.caller.isMaster) throw notAdmin(request, found.caller)
  return found
}

export function notAdmin(request: Request, caller: Caller): GatewayError {
  const route = new URL(request.url).pathname
  return new GatewayError({
    status: 403,
    message: `Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=${route}. Your role=None. Your user_id=${caller.key?.userId ?? 'None'}`,
    type: 'auth_error',
    param: null,
    origin: 'client',
  })
}

/**
 * A JSON body validated with zod; an empty body is `{}` (every field of these requests is optional).
 * A NUL character anywhere in it (a string, an object key, a field the schema does not know) is a
 * 400 naming where: Postgres stores neither `text` nor `jsonb` with one.
 */
export async function readBody<T extends z.ZodType>(
  request: Request,
  gw: Gateway,
  schema: T,
): Promise<z.infer<T>> {
  const empty = request.body === null || request.headers.get('content-length') === '0'
  const body = empty ? {} : await readJsonBody(request, gw.maxBodyBytes)
  const at = nulPath(body, [])
  if (at !== undefined) throw nulError(at.join('.') || 'body')
  return validate(schema, body)
}

/** The path to the first string or key holding U+0000, if any. */
function nulPath(value: unknown, path: string[]): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : value !== null && typeof value === 'object'
      ? Object.entries(value)
      : []
  for (const [name, member] of entries) {
    if (name.includes('\u0000')) return [...path, name.replaceAll('\u0000', '\\u0000')]
    const found = nulPath(member, [...path, name])
    if (found) return found
  }
  return undefined
}

const nulError = (param: string) =>
  new GatewayError({
    status: 400,
    message: `Invalid value for '${param}': ${NUL_MESSAGE}`,
    param,
    origin: 'client',
  })

/**
 * A query parameter (the first, when repeated); undefined when absent or empty. One holding a NUL
 * character is a 400 (Postgres cannot compare text with one).
 */
export function queryParam(request: IRequest, name: string): string | undefined {
  const value = request.query[name]
  const first = Array.isArray(value) ? value[0] : value
  if (first === undefined || first === '') return undefined
  if (first.includes('\u0000')) throw nulError(name)
  return first
}

/** A path parameter, percent-decoded; malformed escapes and NUL characters are a 400. */
export function pathParam(request: IRequest, name: string): string | undefined {
  const raw = request.params[name]
  if (raw === undefined) return undefined
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    throw new GatewayError({
      status: 400,
      message: `Invalid value for '${name}': malformed percent-encoding in the path`,
      param: name,
      origin: 'client',
    })
  }
  if (decoded.includes('\u0000')) throw nulError(name)
  return decoded
}

/**
 * A unique violation (SQLSTATE 23505) from any of the drivers, with the constraint or index it hit:
 * what a concurrent request that passed the same "already exists?" check gets.
 */
export function uniqueViolation(error: unknown): { constraint: string } | undefined {
  if (error === null || typeof error !== 'object') return undefined
  const { code, constraint } = error as { code?: unknown; constraint?: unknown }
  if (code !== '23505') return undefined
  return { constraint: typeof constraint === 'string' ? constraint : '' }
}

/** An integer query parameter within bounds, else 400 naming it (FastAPI's `Query(ge=, le=)`). */
export function intParam(
  request: IRequest,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = queryParam(request, name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new GatewayError({
      status: 400,
      message: `Invalid value for '${name}': expected an integer from ${min} to ${max}, got ${raw}`,
      param: name,
      origin: 'client',
    })
  }
  return value
}

export const boolParam = (request: IRequest, name: string): boolean =>
  ['true', '1', 'yes'].includes((queryParam(request, name) ?? '').toLowerCase())

/** JSON response; Dates become ISO strings. */
export const json = (body: unknown, status = 200): Response => Response.json(body, { status })

/** A row as LiteLLM returns it from `/key/info`: everything but the `token` hash. */
export function withoutToken(row: Record<string, unknown>): Record<string, unknown> {
  const { token: _token, ...rest } = row
  return rest
}
