import type { IRequest } from 'itty-router'
import { badRequest } from '../errors'
import { tokenHashOf } from '../keys/key-format'
import { record } from '../keys/key-record'
import {
  deleteKeys,
  getKey,
  hashesWhere,
  keyConflicts,
  linkSoftBudget,
  updateKey,
} from '../keys/key-repository'
import { checkBudgets, type KeyInput, keyColumnValues } from '../keys/key-values'
import { notFound } from '../keys/litellm-error'
import { forgetSpendTotals } from '../keys/spend-cleanup'
import { getTeam } from '../keys/team-repository'
import type { Row, Sql, Statement } from '../store/sql'
import type { Gateway } from './context'
import { ADMIN_ACTOR, json, readBody, requireAdmin, withoutToken } from './keys-common'
import { aliasTaken, checkKeyTeam, keyWriteConflict } from './keys-generate'
import { BUDGET_FIELDS, deleteKeysSchema, keyRefSchema, updateKeySchema } from './keys-schemas'

const keyNotFound = () => notFound('Key not found in database', 'key')

const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : [])

/** POST /key/update: `key` (raw or hash) plus any /key/generate field; effective at once everywhere. */
export async function updateKeyRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, updateKeySchema)
  checkBudgets(body, BUDGET_FIELDS)
  const hash = await tokenHashOf(body.key)
  const existing = await getKey(stores.sql, hash)
  if (!existing) throw keyNotFound()
  const change = await keyChange(stores.sql, existing, body, gw.clock())
  const updated = await updateKey(stores.sql, hash, change.values, change.before).catch((error: unknown) =>
    keyWriteConflict(error, body.key_alias),
  )
  if (!updated) throw keyNotFound()
  const { row, spendBefore } = updated
  await gw.keys?.invalidate([hash])
  // A spend set here (e.g. 0 to let an over-budget key spend again) must reach the running total
  // budgets are checked against, not only the row (best-effort: adjust never throws).
  if (spendBefore !== undefined)
    await gw.spend.adjust({
      entity: { kind: 'key', id: hash },
      from: spendBefore,
      to: Number(row.spend ?? 0),
    })
  return json({ ...withoutToken(row), key: body.key })
}

/**
 * The column values and extra statements for changing an existing key (update and regenerate):
 * metadata fields merge into the stored metadata, a new alias must be unique, and `soft_budget`
 * goes to the key's budget row.
 */
export async function keyChange(
  sql: Sql,
  existing: Row,
  input: KeyInput & { soft_budget?: number | null | undefined },
  now: number,
): Promise<{ values: Record<string, unknown>; before: Statement[] }> {
  const values: Record<string, unknown> = {
    ...keyColumnValues(input, now, record(existing.metadata)),
    updated_by: ADMIN_ACTOR,
  }
  const alias = input.key_alias
  if (typeof alias === 'string' && alias !== existing.key_alias) {
    if ((await keyConflicts(sql, String(existing.token), alias)).alias) throw aliasTaken(alias)
  }
  // A team given now must exist; the key's models must stay within its team's.
  const teamId = input.team_id !== undefined ? input.team_id : existing.team_id
  if (typeof teamId === 'string' && (input.team_id != null || input.models !== undefined)) {
    const models = input.models !== undefined ? (input.models ?? []) : stringList(existing.models)
    if (input.team_id != null || (await getTeam(sql, teamId))) await checkKeyTeam(sql, teamId, models)
  }
  const before: Statement[] = []
  if (input.soft_budget !== undefined) {
    const link = linkSoftBudget(existing.budget_id, input.soft_budget, ADMIN_ACTOR)
    before.push(link.statement)
    values.budget_id = link.budgetId
  }
  return { values, before }
}

/** POST /key/block and /key/unblock: `{"key": …}` → the updated row (LiteLLM returns it whole). */
export function blockKeyRoute(blocked: boolean) {
  return async (request: IRequest, gw: Gateway): Promise<Response> => {
    const { stores } = await requireAdmin(request, gw)
    const body = await readBody(request, gw, keyRefSchema)
    const hash = await tokenHashOf(body.key)
    const updated = await updateKey(stores.sql, hash, { blocked, updated_by: ADMIN_ACTOR })
    if (!updated) throw keyNotFound()
    await gw.keys?.invalidate([hash])
    return json(updated.row)
  }
}

/**
 * POST /key/delete: `{"keys": [raw or hash …]}` or `{"key_aliases": […]}` → `{"deleted_keys": […]}`
 * (what was passed, as LiteLLM answers). 404 when none of them exists.
 */
export async function deleteKeysRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, deleteKeysSchema)
  let passed: string[]
  let hashes: string[]
  if (body.keys && body.keys.length > 0) {
    passed = body.keys
    hashes = await Promise.all(body.keys.map(tokenHashOf))
  } else if (body.key_aliases && body.key_aliases.length > 0) {
    passed = body.key_aliases
    hashes = await hashesWhere(stores.sql, 'key_alias', body.key_aliases)
  } else {
    throw badRequest('Pass the keys to delete in `keys` (or their aliases in `key_aliases`).', 'keys')
  }
  const deleted = hashes.length > 0 ? await deleteKeys(stores.sql, hashes, ADMIN_ACTOR) : []
  if (deleted.length === 0) throw notFound('No keys found', 'keys')
  // First the cache (this instance at once, then everywhere), then the running totals: a caller
  // may re-create a key with the same value, and it must not inherit the old total. Neither can
  // turn the delete that happened into an error.
  await gw.keys?.invalidate(deleted.map((k) => k.token))
  await forgetSpendTotals(gw, { keys: deleted })
  return json({ deleted_keys: passed })
}
