import type { IRequest } from 'itty-router'
import { sha256Hex } from '../auth/sha256'
import { badRequest } from '../errors'
import { generateKey, keyName } from '../keys/key-format'
import { record } from '../keys/key-record'
import { hashesWhere, keysWhere } from '../keys/key-repository'
import { checkBudgets, keyColumnValues } from '../keys/key-values'
import { LiteLLMError, notFound } from '../keys/litellm-error'
import { ownerColumnValues } from '../keys/owner-values'
import { forgetSpendTotals } from '../keys/spend-cleanup'
import { deleteUsers, getUser, insertUser, teamsOfUser, updateUser } from '../keys/user-repository'
import { KEY_ALIAS_INDEX } from '../store/migrations/002-key-alias-unique'
import type { Gateway } from './context'
import {
  ADMIN_ACTOR,
  json,
  queryParam,
  readBody,
  requireAdmin,
  uniqueViolation,
  withoutToken,
} from './keys-common'
import { aliasTaken, refuseDuplicates } from './keys-generate'
import { deleteUsersSchema, newUserSchema, updateUserSchema } from './keys-schemas'

const USER_BUDGETS = ['max_budget', 'spend']

const userExists = (userId: string) =>
  new LiteLLMError({
    status: 409,
    message: `User with id ${userId} already exists`,
    type: 'bad_request_error',
    param: 'user_id',
  })

/**
 * POST /user/new: the `LiteLLM_UserTable` row and, unless `auto_create_key: false`, a key for it,
 * answered as LiteLLM's NewUserResponse (`key`, `user_id`, the user's fields). As in LiteLLM's
 * `generate_key_helper_fn`, the key gets the user's models, rate limits and metadata but not its
 * budget: the user's budget applies to all the user's keys through the user row.
 */
export async function newUserRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, newUserSchema)
  checkBudgets(body, USER_BUDGETS)
  const now = gw.clock()
  const userId = body.user_id ?? crypto.randomUUID()
  if (await getUser(stores.sql, userId)) throw userExists(userId)
  const user = { ...ownerColumnValues(body, now), user_id: userId, teams: body.teams ?? [] }
  let raw: string | undefined
  let key: Record<string, unknown> | undefined
  if (body.auto_create_key !== false) {
    raw = generateKey()
    const inherited = {
      models: body.models,
      tpm_limit: body.tpm_limit,
      rpm_limit: body.rpm_limit,
      max_parallel_requests: body.max_parallel_requests,
      metadata: body.metadata,
      key_alias: body.key_alias,
      duration: body.duration,
      team_id: body.team_id,
    }
    const token = await sha256Hex(raw)
    // As /key/generate: an alias another key has is a 400 (LiteLLM's `_enforce_unique_key_alias`).
    await refuseDuplicates(stores.sql, token, body.key_alias ?? null)
    key = {
      ...keyColumnValues(inherited, now),
      token,
      key_name: keyName(raw),
      user_id: userId,
      created_by: ADMIN_ACTOR,
      updated_by: ADMIN_ACTOR,
    }
  }
  const inserted = await insertUser(stores.sql, user, key).catch((error: unknown) => {
    // A concurrent /user/new with the same id (or key alias) passed the same checks first.
    const violation = uniqueViolation(error)
    if (!violation) throw error
    if (violation.constraint === KEY_ALIAS_INDEX) throw aliasTaken(body.key_alias)
    // The user's primary key (a driver that does not name the constraint: most likely that too).
    throw userExists(userId)
  })
  // Keys that name this user_id were cached without a user row (no user limits, no user models).
  const hashes = await hashesWhere(stores.sql, 'user_id', [userId])
  await gw.keys?.invalidate(key ? [...hashes, String(key.token)] : hashes)
  return json({ ...(inserted.key ? withoutToken(inserted.key) : {}), ...inserted.user, key: raw ?? '' })
}

/** GET /user/info?user_id=: `{user_id, user_info, keys, teams}` with current spend totals. */
export async function userInfoRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const userId = queryParam(request, 'user_id')
  if (userId === undefined) throw badRequest('Pass the user to look up as ?user_id=', 'user_id')
  const user = await getUser(stores.sql, userId)
  if (!user) throw notFound(`User ${userId} not found`, 'user_id')
  const [keys, teams] = await Promise.all([
    keysWhere(stores.sql, 'user_id', userId),
    teamsOfUser(stores.sql, user),
  ])
  const totals = await gw.spend.totals.current([
    { kind: 'user', id: userId },
    ...keys.map((k) => ({ kind: 'key' as const, id: String(k.token) })),
  ])
  return json({
    user_id: userId,
    user_info: { ...user, spend: totals[0] ?? 0 },
    keys: keys.map((k, i) => ({ ...k, spend: totals[i + 1] ?? 0 })),
    teams,
  })
}

/** POST /user/update → `{user_id, data: row}`; the user's keys are re-read everywhere (joined limits). */
export async function updateUserRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, updateUserSchema)
  checkBudgets(body, USER_BUDGETS)
  const existing = await getUser(stores.sql, body.user_id)
  if (!existing) throw notFound(`User not found, passed user_id=${body.user_id}`, 'user_id')
  const { user_id: _id, ...changes } = body
  const updated = await updateUser(
    stores.sql,
    body.user_id,
    ownerColumnValues(changes, gw.clock(), record(existing.metadata)),
  )
  if (updated?.spendBefore !== undefined) {
    const to = Number(updated.row.spend ?? 0)
    await gw.spend.adjust({ entity: { kind: 'user', id: body.user_id }, from: updated.spendBefore, to })
  }
  await gw.keys?.invalidate(await hashesWhere(stores.sql, 'user_id', [body.user_id]))
  return json({ user_id: body.user_id, data: updated?.row })
}

/** POST /user/delete `{user_ids}`: users and their keys; answers the number of users deleted. */
export async function deleteUsersRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, deleteUsersSchema)
  for (const userId of body.user_ids) {
    if (!(await getUser(stores.sql, userId)))
      throw notFound(`User not found, passed user_id=${userId}`, 'user_ids')
  }
  const deleted = await deleteUsers(stores.sql, body.user_ids, ADMIN_ACTOR)
  await gw.keys?.invalidate(deleted.keyHashes)
  // A user created again with this id starts from its new row's spend, as do re-created keys.
  await forgetSpendTotals(gw, { users: deleted.userIds, keys: deleted.keys })
  return json(deleted.users)
}
