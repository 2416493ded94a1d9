import type { IRequest } from 'itty-router'
import { GatewayError } from '../errors'
import { tokenHashOf } from '../keys/key-format'
import { record } from '../keys/key-record'
import { getKey, listKeys } from '../keys/key-repository'
import { notFound } from '../keys/litellm-error'
import type { Caller } from '../keys/virtual-key'
import type { Row } from '../store/sql'
import type { Gateway } from './context'
import {
  boolParam,
  callerWithStores,
  intParam,
  json,
  queryParam,
  requireAdmin,
  withoutToken,
} from './keys-common'

/**
 * GET /key/info?key=<sk-… or hash>; without `key`, the calling key itself. Answers
 * `{"key": <as passed>, "info": {row without the token hash}}` with `spend` the current total
 * (including spend not yet flushed to Postgres) and the linked budget's `soft_budget`.
 */
export async function keyInfoRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { caller, stores } = await callerWithStores(request, gw)
  const asked = queryParam(request, 'key')
  const hash = asked === undefined ? caller.keyHash : await tokenHashOf(asked)
  const row = await getKey(stores.sql, hash)
  if (!row) throw notFound('Key not found in database', 'key')
  if (!mayRead(caller, hash, row)) {
    throw new GatewayError({
      status: 403,
      message: "You are not allowed to access this key's info. Your role=None",
      type: 'auth_error',
      origin: 'client',
    })
  }
  const [spend] = await gw.spend.totals.current([{ kind: 'key', id: hash }])
  return json({ key: asked ?? hash, info: keyInfo(row, spend ?? 0) })
}

/** LiteLLM's `_can_user_query_key_info`: the admin, the key itself, or a key of the same user. */
function mayRead(caller: Caller, hash: string, row: Row): boolean {
  if (caller.isMaster || hash === caller.keyHash) return true
  const userId = caller.key?.userId
  return typeof userId === 'string' && userId === row.user_id
}

export function keyInfo(row: Row, spend: number): Record<string, unknown> {
  const budget = record(row.litellm_budget_table)
  return {
    ...withoutToken(row),
    spend,
    soft_budget: typeof budget.soft_budget === 'number' ? budget.soft_budget : null,
    litellm_budget_table: row.litellm_budget_table ?? null,
  }
}

/**
 * GET /key/list: `{keys, total_count, current_page, total_pages}`, newest first. `keys` are hashes
 * (as LiteLLM returns them), or whole rows with `return_full_object=true`.
 */
export async function listKeysRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const page = intParam(request, 'page', 1, 1, 1_000_000_000)
  const size = intParam(request, 'size', 10, 1, 100)
  const { rows, total } = await listKeys(
    stores.sql,
    {
      user_id: queryParam(request, 'user_id'),
      team_id: queryParam(request, 'team_id'),
      key_alias: queryParam(request, 'key_alias'),
      key_hash: queryParam(request, 'key_hash'),
    },
    page,
    size,
  )
  return json({
    keys: boolParam(request, 'return_full_object') ? rows : rows.map((r) => r.token),
    total_count: total,
    current_page: page,
    total_pages: Math.ceil(total / size),
  })
}
