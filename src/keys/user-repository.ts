import type { Row, Sql } from '../store/sql'
import {
  copyToDeleted,
  deletedKeys,
  deleteKeysWhere,
  type Updated,
  updateReturningSpend,
} from './key-repository'
import { insertStatement, pgTextArray } from './sql-columns'
import { KEY_COLUMNS, KEY_TABLE, TEAM_TABLE, USER_COLUMNS, USER_TABLE } from './tables'

/** SQL for `LiteLLM_UserTable`. */

export async function getUser(sql: Sql, userId: string): Promise<Row | undefined> {
  const [row] = await sql.query(`SELECT * FROM "${USER_TABLE}" WHERE user_id = $1`, [userId])
  return row
}

/**
 * The user and (unless `auto_create_key: false`) its first key, in one transaction: a duplicate
 * user_id fails the whole batch, so no orphan key is left behind.
 */
export async function insertUser(sql: Sql, user: Record<string, unknown>, key?: Record<string, unknown>) {
  const statements = [insertStatement(USER_TABLE, USER_COLUMNS, user)]
  if (key) statements.push(insertStatement(KEY_TABLE, KEY_COLUMNS, key))
  const [users, keys] = await sql.transaction(statements)
  return { user: users?.[0], key: keys?.[0] }
}

/** The updated user (undefined when it is gone) and, when `values` set spend, the spend it replaced. */
export async function updateUser(
  sql: Sql,
  userId: string,
  values: Record<string, unknown>,
): Promise<Updated | undefined> {
  const update = updateReturningSpend(USER_TABLE, USER_COLUMNS, { column: 'user_id', value: userId }, values)
  const [rows] = await sql.transaction([update.statement])
  return update.result(rows?.[0])
}

/** Users and their keys (copied to the deleted-keys table first), as LiteLLM's `/user/delete`. */
export async function deleteUsers(sql: Sql, userIds: readonly string[], deletedBy: string | null) {
  const ids = pgTextArray(userIds)
  const [, keys, users] = await sql.transaction([
    copyToDeleted('user_id', userIds, deletedBy),
    deleteKeysWhere('user_id', userIds),
    { text: `DELETE FROM "${USER_TABLE}" WHERE user_id = ANY($1::text[]) RETURNING user_id`, params: [ids] },
    {
      text: `UPDATE "${TEAM_TABLE}" SET members = ARRAY(SELECT m FROM unnest(members) m WHERE m <> ALL($1::text[])),
        admins = ARRAY(SELECT a FROM unnest(admins) a WHERE a <> ALL($1::text[]))
        WHERE members && $1::text[] OR admins && $1::text[]`,
      params: [ids],
    },
  ])
  const gone = deletedKeys(keys)
  return {
    users: users?.length ?? 0,
    userIds: (users ?? []).map((r) => String(r.user_id)),
    keys: gone,
    keyHashes: gone.map((k) => k.token),
  }
}

/** The teams a user belongs to: listed in the user's `teams`, or naming the user as member/admin. */
export async function teamsOfUser(sql: Sql, user: Row): Promise<Row[]> {
  const teams = Array.isArray(user.teams) ? user.teams.map(String) : []
  return sql.query(
    `SELECT * FROM "${TEAM_TABLE}" WHERE team_id = ANY($1::text[]) OR $2 = ANY(members) OR $2 = ANY(admins)
     ORDER BY team_alias NULLS LAST, team_id`,
    [pgTextArray(teams), String(user.user_id)],
  )
}
