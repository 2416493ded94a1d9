import type { IRequest } from 'itty-router'
import { sha256Hex } from '../auth/sha256'
import { badRequest } from '../errors'
import { generateKey, keyName, tokenHashOf } from '../keys/key-format'
import { record } from '../keys/key-record'
import { copyToDeleted, getKey, updateKey } from '../keys/key-repository'
import { checkBudgets } from '../keys/key-values'
import { notFound } from '../keys/litellm-error'
import { forgetSpendTotals } from '../keys/spend-cleanup'
import type { Row } from '../store/sql'
import type { Gateway } from './context'
import { ADMIN_ACTOR, json, pathParam, readBody, requireAdmin, withoutToken } from './keys-common'
import { keyWriteConflict, refuseDuplicates } from './keys-generate'
import { BUDGET_FIELDS, regenerateKeySchema } from './keys-schemas'
import { keyChange } from './keys-write'

/**
 * POST /key/regenerate and /key/{key}/regenerate: a new secret for the same row. The token (the
 * primary key) changes in place, so limits, budget and ownership stay; the old row is copied to
 * the deleted-keys table first, as LiteLLM does, and the old hash stops working at once on every
 * instance. Other fields of the body update the key as /key/update would. (An enterprise feature
 * in LiteLLM; open here, for the master key.)
 */
export async function regenerateKeyRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, regenerateKeySchema)
  checkBudgets(body, BUDGET_FIELDS)
  const ref = body.key ?? pathParam(request, 'key')
  if (!ref) throw badRequest('No key passed in.', 'key')
  const hash = await tokenHashOf(ref)
  const existing = await getKey(stores.sql, hash)
  if (!existing) throw notFound(`Key ${ref} not found.`, 'key')
  if (body.new_key != null && !body.new_key.startsWith('sk-')) {
    throw badRequest(
      "New key must start with 'sk-'. This is to distinguish a key hash (used by litellm for logging / internal logic) from the actual key.",
      'new_key',
    )
  }
  const raw = body.new_key ?? generateKey()
  const newHash = await sha256Hex(raw)
  await refuseDuplicates(stores.sql, newHash, null)
  const change = await keyChange(stores.sql, existing, body, gw.clock())
  const carried = await runningSpend(gw, hash, existing)
  const values = { ...carried, ...change.values, token: newHash, key_name: keyName(raw) }
  // The new hash has no running total yet (it is seeded from this row): no total to adjust.
  const row = (
    await updateKey(stores.sql, hash, values, [
      copyToDeleted('token', [hash], ADMIN_ACTOR),
      ...change.before,
    ]).catch((error: unknown) => keyWriteConflict(error, body.key_alias))
  )?.row
  if (!row) throw notFound(`Key ${ref} not found.`, 'key')
  await gw.keys?.invalidate([hash, newHash])
  // The row took the old hash's totals over; left behind they would outlive it (best-effort).
  const spendGroups = [...Object.keys(carried.model_spend), ...Object.keys(record(existing.model_max_budget))]
  await forgetSpendTotals(gw, { keys: [{ token: hash, spendGroups }] })
  return json({ ...withoutToken(row), key: raw, token_id: newHash, token: newHash })
}

/**
 * The key's spend as the running totals have it, for the row to take over. Spend recorded under the
 * old hash but not yet flushed is written by every instance's next batch to the row with that hash,
 * which no longer exists once the token changes: without this it would be lost, and the new hash's
 * totals seeded without it. Calls still in flight with the old key are not included (like any call
 * in flight, they can overshoot a budget).
 */
async function runningSpend(
  gw: Gateway,
  hash: string,
  row: Row,
): Promise<{ spend: number; model_spend: Record<string, number> }> {
  const stored = record(row.model_spend)
  const models = [
    ...new Set([
      ...Object.keys(stored),
      ...Object.keys(record(row.model_max_budget)),
      ...gw.config.deployments.map((d) => d.modelName),
    ]),
  ]
  const [spend = 0, ...perModel] = await gw.spend.totals.current([
    { kind: 'key', id: hash },
    ...models.map((model) => ({ kind: 'key-model' as const, id: hash, model })),
  ])
  const model_spend: Record<string, number> = {}
  models.forEach((model, i) => {
    const value = perModel[i] ?? 0
    if (value !== 0 || model in stored) model_spend[model] = value
  })
  return { spend, model_spend }
}
