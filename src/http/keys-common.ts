import type { IRequest } from 'itty-router'
import type { z } from 'zod'
import { GatewayError } from '../errors'
import { dbNotConnected } from '../keys/litellm-error'
import type { Caller } from '../keys/virtual-key'
import { readJsonBody } from '../openai/read-json-body'
import { validate } from '../openai/validate'
import type { Stores } from '../store/stores'
import type { Gateway } from './context'

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

/** A JSON body validated with zod; an empty body is `{}` (every field of these requests is optional). */
export async function readBody<T extends z.ZodType>(
  request: Request,
  gw: Gateway,
  schema: T,
): Promise<z.infer<T>> {
  const empty = request.body === null || request.headers.get('content-length') === '0'
  const body = empty ? {} : await readJsonBody(request, gw.maxBodyBytes)
  return validate(schema, body)
}

/** A query parameter (the first, when repeated); undefined when absent or empty. */
export function queryParam(request: IRequest, name: string): string | undefined {
  const value = request.query[name]
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined || first === '' ? undefined : first
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
