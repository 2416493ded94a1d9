import type { IRequest } from 'itty-router'
import { maskKey } from '../auth/master-key'
import { sha256Hex } from '../auth/sha256'
import { badRequest } from '../errors'
import { allowsAll } from '../keys/authorize-call'
import { generateKey, keyName } from '../keys/key-format'
import { insertKey, keyConflicts } from '../keys/key-repository'
import { checkBudgets, keyColumnValues } from '../keys/key-values'
import { badRequestError } from '../keys/litellm-error'
import { KEY_TABLE } from '../keys/tables'
import { getTeam } from '../keys/team-repository'
import { KEY_ALIAS_INDEX } from '../store/migrations/002-key-alias-unique'
import type { Row, Sql } from '../store/sql'
import type { Gateway } from './context'
import { ADMIN_ACTOR, json, readBody, requireAdmin, uniqueViolation, withoutToken } from './keys-common'
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
  if (body.team_id != null) await checkKeyTeam(stores.sql, body.team_id, body.models ?? [])
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
  const inserted = await insertKey(stores.sql, values, budget).catch((error: unknown) =>
    keyWriteConflict(error, body.key_alias),
  )
  if (!inserted.key) throw duplicateKey()
  // A caller-chosen key may have been tried before it existed: drop any cached "unknown".
  await gw.keys?.invalidate([token])
  return json(generateResponse(body, raw, inserted.key, inserted.budget))
}

/** A key value or alias already taken is a 400 naming the field. */
export async function refuseDuplicates(sql: Sql, token: string, alias: string | null): Promise<void> {
  const taken = await keyConflicts(sql, token, alias)
  // LiteLLM's `_enforce_unique_key_alias`.
  if (taken.alias) throw aliasTaken(alias)
  if (taken.token) throw duplicateKey()
}

/** LiteLLM's `_enforce_unique_key_alias` answer. */
export const aliasTaken = (alias: string | null | undefined) =>
  badRequest(
    `Key with alias '${alias}' already exists. Unique key aliases across all keys are required.`,
    'key_alias',
  )

export const duplicateKey = () =>
  badRequest('A key with this value already exists; choose another `key`.', 'key')

/**
 * A key write that lost a race to a concurrent one passed the "already taken?" checks and then hit
 * a unique index (23505): the same 400 as the check. Anything else is rethrown.
 */
export function keyWriteConflict(error: unknown, alias: string | null | undefined): never {
  const violation = uniqueViolation(error)
  if (!violation) throw error
  if (violation.constraint === KEY_ALIAS_INDEX) throw aliasTaken(alias)
  if (violation.constraint === `${KEY_TABLE}_pkey`) throw duplicateKey()
  // A driver that does not say which: the alias, if the write set one.
  throw typeof alias === 'string' ? aliasTaken(alias) : duplicateKey()
}

const ALL_TEAM_MODELS = 'all-team-models'

/**
 * A key given to a team must name an existing team, and may only get models the team has (LiteLLM's
 * `can_team_access_model` would refuse the others on every call anyway): unless the team allows
 * every model, each of the key's models must be one of the team's (`all-team-models` always is).
 */
export async function checkKeyTeam(sql: Sql, teamId: string, models: readonly string[]): Promise<void> {
  const team = await getTeam(sql, teamId)
  if (!team) throw badRequestError(`Team doesn't exist in db. Team=${teamId}`, 'team_id')
  const teamModels = Array.isArray(team.models) ? team.models.map(String) : []
  if (allowsAll(teamModels)) return
  const outside = models.filter((m) => m !== ALL_TEAM_MODELS && !teamModels.includes(m))
  if (outside.length > 0) {
    throw badRequestError(
      `Key models are not allowed by its team. Team=${teamId} can only access models=${pyList(teamModels)}. Not allowed: ${pyList(outside)}`,
      'models',
    )
  }
}

const pyList = (items: readonly string[]) => `[${items.map((m) => `'${m}'`).join(', ')}]`

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
