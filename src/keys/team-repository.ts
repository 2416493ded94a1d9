import type { Row, Sql } from '../store/sql'
import { copyToDeleted, deletedKeys, deleteKeysWhere } from './key-repository'
import { insertStatement, pgTextArray, updateStatement } from './sql-columns'
import { TEAM_COLUMNS, TEAM_TABLE, USER_TABLE } from './tables'

/** SQL for `LiteLLM_TeamTable`. */

export async function getTeam(sql: Sql, teamId: string): Promise<Row | undefined> {
  const [row] = await sql.query(`SELECT * FROM "${TEAM_TABLE}" WHERE team_id = $1`, [teamId])
  return row
}

/** The team, and its id added to each existing member's `teams` (LiteLLM's `/team/new` does both). */
export async function insertTeam(sql: Sql, team: Record<string, unknown>, memberIds: readonly string[]) {
  const [rows] = await sql.transaction([
    insertStatement(TEAM_TABLE, TEAM_COLUMNS, team),
    {
      text: `UPDATE "${USER_TABLE}" SET teams = array_append(teams, $1)
        WHERE user_id = ANY($2::text[]) AND NOT ($1 = ANY(teams))`,
      params: [team.team_id, pgTextArray(memberIds)],
    },
  ])
  return rows?.[0]
}

export async function updateTeam(sql: Sql, teamId: string, values: Record<string, unknown>) {
  const [rows] = await sql.transaction([
    updateStatement(TEAM_TABLE, TEAM_COLUMNS, { column: 'team_id', value: teamId }, values),
  ])
  return rows?.[0]
}

/** Teams and their keys (copied to the deleted-keys table), and the teams dropped from users' lists. */
export async function deleteTeams(sql: Sql, teamIds: readonly string[], deletedBy: string | null) {
  const ids = pgTextArray(teamIds)
  const [, keys, teams] = await sql.transaction([
    copyToDeleted('team_id', teamIds, deletedBy),
    deleteKeysWhere('team_id', teamIds),
    { text: `DELETE FROM "${TEAM_TABLE}" WHERE team_id = ANY($1::text[]) RETURNING team_id`, params: [ids] },
    {
      text: `UPDATE "${USER_TABLE}" SET teams = ARRAY(SELECT t FROM unnest(teams) t WHERE t <> ALL($1::text[]))
        WHERE teams && $1::text[]`,
      params: [ids],
    },
  ])
  const gone = deletedKeys(keys)
  return {
    teams: (teams ?? []).map((r) => String(r.team_id)),
    keys: gone,
    keyHashes: gone.map((k) => k.token),
  }
}

/** All teams, or those a user belongs to (member, admin, or in the user's `teams`). */
export async function listTeams(sql: Sql, userId?: string): Promise<Row[]> {
  if (userId === undefined)
    return sql.query(`SELECT * FROM "${TEAM_TABLE}" ORDER BY created_at DESC, team_id`)
  return sql.query(
    `SELECT t.* FROM "${TEAM_TABLE}" t WHERE $1 = ANY(t.members) OR $1 = ANY(t.admins)
       OR t.members_with_roles @> jsonb_build_array(jsonb_build_object('user_id', $1::text))
       OR t.team_id IN (SELECT unnest(teams) FROM "${USER_TABLE}" WHERE user_id = $1)
     ORDER BY t.created_at DESC, t.team_id`,
    [userId],
  )
}
