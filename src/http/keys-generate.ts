import type { IRequest } from 'itty-router'
import { maskKey } from '../auth/master-key'
import { sha256Hex } from '../auth/sha256'
import { badRequest } from '../errors'
import { generateKey, keyName } from '../keys/key-format'
import { insertKey, keyConflicts } from '../keys/key-repository'
import { checkBudgets, keyColumnValues } from '../keys/key-values'
import type { Row, Sql } from '../store/sql'
import type { Gateway } from './context'
import { ADMIN_ACTOR, json, readBody, requireAdmin, withoutToken } from './keys-common'
import { BUDGET_FIELDS, generateKeySchema } from './keys-schemas'

/**
 * POST /key/generate. The response is LiteLLM's GenerateKeyResponse: the request echoed, the stored
 * row, and `key` — the only time the secret is ever shown; `token_id` and `token` are its hash.
 */
export async function generateKeyRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, generateKeySchema)
  checkBudgets(body, BUDGET_FIELDS)
  if (body.key != null && !body.key.startsWith('sk-')) {
    throw badRequest(
      `Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: ${maskKey(body.key)}`,
      'key',
    )
  }
  const raw = body.key ?? generateKey()
  const token = await sha256Hex(raw)
  const values: Record<string, unknown> = {
    ...keyColumnValues(body, gw.clock()),
    token,
    key_name: keyName(raw),
    created_by: ADMIN_ACTOR,
    updated_by: ADMIN_ACTOR,
  }
  await refuseDuplicates(stores.sql, token, body.key_alias ?? null)

  let budget: Record<string, unknown> | undefined
  if (body.soft_budget != null) {
    // LiteLLM: "create the Budget Row for the LiteLLM Verification Token".
    values.budget_id = crypto.randomUUID()
    budget = {
      budget_id: values.budget_id,
      soft_budget: body.soft_budget,
      model_max_budget: body.model_max_budget ?? {},
      created_by: ADMIN_ACTOR,
      updated_by: ADMIN_ACTOR,
    }
  }
  const inserted = await insertKey(stores.sql, values, budget)
  if (!inserted.key) throw duplicateKey()
  // A caller-chosen key may have been tried before it existed: drop any cached "unknown".
  await gw.keys?.invalidate([token])
  return json(generateResponse(body, raw, inserted.key, inserted.budget))
}

/** A key value or alias already taken is a 400 naming the field. */
export async function refuseDuplicates(sql: Sql, token: string, alias: string | null): Promise<void> {
  const taken = await keyConflicts(sql, token, alias)
  // LiteLLM's `_enforce_unique_key_alias`.
  if (taken.alias) {
    throw badRequest(
      `Key with alias '${alias}' already exists. Unique key aliases across all keys are required.`,
      'key_alias',
    )
  }
  if (taken.token) throw duplicateKey()
}

const duplicateKey = () => badRequest('A key with this value already exists; choose another `key`.', 'key')

export function generateResponse(
  body: Record<string, unknown>,
  raw: string,
  row: Row,
  budget: Row | undefined,
): Record<string, unknown> {
  const { key: _key, ...echo } = body
  return {
    ...echo,
    ...withoutToken(row),
    key: raw,
    token_id: row.token,
    // LiteLLM remaps `token` to the hash ("leave the key in the `key` field").
    token: row.token,
    soft_budget: body.soft_budget ?? null,
    litellm_budget_table: budget ?? null,
  }
}
