import type { IRequest } from 'itty-router'
import { badRequest } from '../errors'
import { record } from '../keys/key-record'
import { hashesWhere, keysWhere } from '../keys/key-repository'
import { checkBudgets } from '../keys/key-values'
import { notFound } from '../keys/litellm-error'
import { ownerColumnValues } from '../keys/owner-values'
import { forgetSpendTotals } from '../keys/spend-cleanup'
import { deleteTeams, getTeam, insertTeam, listTeams, updateTeam } from '../keys/team-repository'
import type { Gateway } from './context'
import { json, queryParam, readBody, requireAdmin, uniqueViolation } from './keys-common'
import { deleteTeamsSchema, newTeamSchema, teamRefSchema, updateTeamSchema } from './keys-schemas'

const TEAM_BUDGETS = ['max_budget', 'soft_budget']

const teamExists = (teamId: string) =>
  badRequest(`Team id = ${teamId} already exists. Please use a different team id.`, 'team_id')

/** POST /team/new → the team row (uuid `team_id` unless given); members get the team in `teams`. */
export async function newTeamRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, newTeamSchema)
  checkBudgets(body, TEAM_BUDGETS)
  const teamId = body.team_id ?? crypto.randomUUID()
  if (await getTeam(stores.sql, teamId)) throw teamExists(teamId)
  const members = body.members_with_roles ?? []
  const values = { members_with_roles: members, ...ownerColumnValues(body, gw.clock()), team_id: teamId }
  const memberIds = [...members.map((m) => m.user_id), ...(body.admins ?? []), ...(body.members ?? [])]
  const row = await insertTeam(
    stores.sql,
    values,
    memberIds.filter((id): id is string => typeof id === 'string'),
  ).catch((error: unknown) => {
    // A concurrent /team/new with the same id passed the same check first.
    if (uniqueViolation(error)) throw teamExists(teamId)
    throw error
  })
  // Keys that name this team_id were cached without a team row (no team models, budget or block).
  await invalidateTeamKeys(gw, [teamId])
  return json(row)
}

/** GET /team/info?team_id= → `{team_id, team_info, keys, team_memberships}` with current spend totals. */
export async function teamInfoRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const teamId = queryParam(request, 'team_id')
  if (teamId === undefined) throw badRequest('Malformed request. No team id passed in.', 'team_id')
  const team = await getTeam(stores.sql, teamId)
  if (!team) throw notFound(`Team not found, passed team id: ${teamId}.`, 'team_id')
  const keys = await keysWhere(stores.sql, 'team_id', teamId)
  const totals = await gw.spend.totals.current([
    { kind: 'team', id: teamId },
    ...keys.map((k) => ({ kind: 'key' as const, id: String(k.token) })),
  ])
  return json({
    team_id: teamId,
    team_info: { ...team, spend: totals[0] ?? 0 },
    keys: keys.map((k, i) => ({ ...k, spend: totals[i + 1] ?? 0 })),
    team_memberships: [],
  })
}

/** POST /team/update → `{team_id, data: row}`; every key of the team is re-read everywhere. */
export async function updateTeamRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, updateTeamSchema)
  checkBudgets(body, TEAM_BUDGETS)
  const existing = await getTeam(stores.sql, body.team_id)
  if (!existing) throw notFound(`Team not found, passed team_id=${body.team_id}`, 'team_id')
  const { team_id: _id, ...changes } = body
  const row = await updateTeam(
    stores.sql,
    body.team_id,
    ownerColumnValues(changes, gw.clock(), record(existing.metadata)),
  )
  await invalidateTeamKeys(gw, [body.team_id])
  return json({ team_id: body.team_id, data: row })
}

/** POST /team/block and /team/unblock `{team_id}` → the team row; its keys are refused at once. */
export function blockTeamRoute(blocked: boolean) {
  return async (request: IRequest, gw: Gateway): Promise<Response> => {
    const { stores } = await requireAdmin(request, gw)
    const body = await readBody(request, gw, teamRefSchema)
    const row = await updateTeam(stores.sql, body.team_id, { blocked })
    if (!row) throw notFound(`Team not found, passed team_id=${body.team_id}`, 'team_id')
    await invalidateTeamKeys(gw, [body.team_id])
    return json(row)
  }
}

/** POST /team/delete `{team_ids}`: the teams and their keys → `{deleted_teams: [...]}`. */
export async function deleteTeamsRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  const body = await readBody(request, gw, deleteTeamsSchema)
  for (const teamId of body.team_ids) {
    if (!(await getTeam(stores.sql, teamId)))
      throw notFound(`Team not found, passed team_id=${teamId}`, 'team_ids')
  }
  const deleted = await deleteTeams(stores.sql, body.team_ids, 'default_user_id')
  await gw.keys?.invalidate(deleted.keyHashes)
  // A team created again with this id starts from its new row's spend, as do re-created keys.
  await forgetSpendTotals(gw, { teams: deleted.teams, keys: deleted.keys })
  return json({ deleted_teams: deleted.teams })
}

/** GET /team/list[?user_id=] → the team rows (all, or the user's). */
export async function listTeamsRoute(request: IRequest, gw: Gateway): Promise<Response> {
  const { stores } = await requireAdmin(request, gw)
  return json(await listTeams(stores.sql, queryParam(request, 'user_id')))
}

async function invalidateTeamKeys(gw: Gateway, teamIds: string[]): Promise<void> {
  if (!gw.stores || !gw.keys) return
  await gw.keys.invalidate(await hashesWhere(gw.stores.sql, 'team_id', teamIds))
}
