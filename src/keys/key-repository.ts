import type { Row, Sql, Statement } from '../store/sql'
import { KEY_FOR_AUTH_SQL, record, toVirtualKey } from './key-record'
import {
  type Columns,
  encode,
  insertStatement,
  pgTextArray,
  splitPrevious,
  updateStatement,
} from './sql-columns'
import { BUDGET_COLUMNS, BUDGET_TABLE, KEY_COLUMNS, KEY_TABLE } from './tables'
import type { VirtualKey } from './virtual-key'

/** SQL for `LiteLLM_VerificationToken`. Every write is one statement or one batch transaction. */

export async function findKeyForAuth(sql: Sql, hash: string): Promise<VirtualKey | undefined> {
  const [row] = await sql.query(KEY_FOR_AUTH_SQL, [hash])
  return row ? toVirtualKey(row) : undefined
}

/** The row with its linked budget, as LiteLLM reads it (`include={"litellm_budget_table": True}`). */
const KEY_WITH_BUDGET = `SELECT k.*, to_jsonb(b) AS litellm_budget_table
FROM "${KEY_TABLE}" k LEFT JOIN "${BUDGET_TABLE}" b ON b.budget_id = k.budget_id`

export async function getKey(sql: Sql, hash: string): Promise<Row | undefined> {
  const [row] = await sql.query(`${KEY_WITH_BUDGET} WHERE k.token = $1`, [hash])
  return row
}

/** Which of a new key's unique values are taken: the token (caller-chosen `key`) or `key_alias`. */
export async function keyConflicts(sql: Sql, hash: string, alias: string | null) {
  const rows = await sql.query<{ token: string; key_alias: string | null }>(
    `SELECT token, key_alias FROM "${KEY_TABLE}" WHERE token = $1 OR ($2::text IS NOT NULL AND key_alias = $2::text)`,
    [hash, alias],
  )
  return {
    token: rows.some((r) => r.token === hash),
    alias: alias !== null && rows.some((r) => r.key_alias === alias && r.token !== hash),
  }
}

/**
 * A new key, and its budget row when it has a `soft_budget`: LiteLLM keeps a key's soft budget in
 * a `LiteLLM_BudgetTable` row linked by `budget_id`, not on the key.
 */
export async function insertKey(
  sql: Sql,
  values: Record<string, unknown>,
  budget?: Record<string, unknown>,
): Promise<{ key: Row | undefined; budget: Row | undefined }> {
  const statements: Statement[] = []
  if (budget) statements.push(insertStatement(BUDGET_TABLE, BUDGET_COLUMNS, budget))
  statements.push(
    insertStatement(KEY_TABLE, KEY_COLUMNS, values, 'ON CONFLICT (token) DO NOTHING RETURNING *'),
  )
  const results = await sql.transaction(statements)
  return { key: results.at(-1)?.[0], budget: budget ? results[0]?.[0] : undefined }
}

/**
 * What an update returns: the row, and when the update set `spend`, the spend the row had just
 * before (read by the same statement), so the running totals can move by exactly the change.
 */
export interface Updated {
  row: Row
  spendBefore: number | undefined
}

/** The update, and the spend it replaced when it sets `spend`; undefined when the row is gone. */
export function updateReturningSpend(
  table: string,
  columns: Columns,
  where: { column: string; value: string },
  values: Record<string, unknown>,
): { statement: Statement; result: (row: Row | undefined) => Updated | undefined } {
  const previous = values.spend === undefined ? [] : ['spend']
  return {
    statement: updateStatement(table, columns, where, values, previous),
    result(returned) {
      if (!returned) return undefined
      const split = splitPrevious(returned, previous)
      const spend = split.previous.spend
      return {
        row: split.row,
        spendBefore: previous.length === 0 ? undefined : Number(spend ?? 0),
      }
    },
  }
}

/** Updates a key (optionally with statements that must commit with it); undefined when it is gone. */
export async function updateKey(
  sql: Sql,
  hash: string,
  values: Record<string, unknown>,
  before: readonly Statement[] = [],
): Promise<Updated | undefined> {
  const update = updateReturningSpend(KEY_TABLE, KEY_COLUMNS, { column: 'token', value: hash }, values)
  const results = await sql.transaction([...before, update.statement])
  return update.result(results.at(-1)?.[0])
}

export function budgetUpsert(budgetId: string, values: Record<string, unknown>): Statement {
  const insert = insertStatement(BUDGET_TABLE, BUDGET_COLUMNS, { budget_id: budgetId, ...values }, '')
  const sets = Object.keys(values)
    .filter((k) => k in BUDGET_COLUMNS && k !== 'created_by')
    .map((k) => `"${k}" = EXCLUDED."${k}"`)
  return {
    text: `${insert.text} ON CONFLICT (budget_id) DO UPDATE SET ${sets.join(', ')}`,
    params: insert.params,
  }
}

/**
 * Copies keys into `LiteLLM_DeletedVerificationToken` before they go, as LiteLLM does on delete and
 * regenerate, so spend logs keep a readable owner (alias, team, user) for old hashes.
 */
export function copyToDeleted(
  where: 'token' | 'user_id' | 'team_id',
  values: readonly string[],
  deletedBy: string | null,
): Statement {
  return {
    text: `INSERT INTO "LiteLLM_DeletedVerificationToken" (id, token, key_name, key_alias, spend, expires,
  models, user_id, team_id, metadata, max_budget, budget_duration, created_at, created_by, updated_at,
  updated_by, deleted_by, litellm_changed_by)
SELECT gen_random_uuid()::text, token, key_name, key_alias, spend, expires, models, user_id, team_id,
  metadata, max_budget, budget_duration, created_at, created_by, updated_at, updated_by, $2::text, $2::text
FROM "${KEY_TABLE}" WHERE "${where}" = ANY($1::text[])`,
    params: [pgTextArray(values), deletedBy],
  }
}

/** A deleted key: its hash, and the model groups its row had spend on (for the running totals). */
export interface DeletedKey {
  token: string
  spendGroups: string[]
}

export function deleteKeysWhere(
  where: 'token' | 'user_id' | 'team_id',
  values: readonly string[],
): Statement {
  return {
    text: `DELETE FROM "${KEY_TABLE}" WHERE "${where}" = ANY($1::text[]) RETURNING token, model_spend`,
    params: [pgTextArray(values)],
  }
}

/** The keys a deleteKeysWhere statement returned. */
export const deletedKeys = (rows: readonly Row[] | undefined): DeletedKey[] =>
  (rows ?? []).map((r) => ({ token: String(r.token), spendGroups: Object.keys(record(r.model_spend)) }))

/** Deletes keys (copied to the deleted-keys table in the same transaction); returns the keys gone. */
export async function deleteKeys(sql: Sql, hashes: readonly string[], deletedBy: string | null) {
  const results = await sql.transaction([
    copyToDeleted('token', hashes, deletedBy),
    deleteKeysWhere('token', hashes),
  ])
  return deletedKeys(results[1])
}

export async function hashesWhere(
  sql: Sql,
  column: 'key_alias' | 'user_id' | 'team_id',
  values: readonly string[],
): Promise<string[]> {
  if (values.length === 0) return []
  const rows = await sql.query<{ token: string }>(
    `SELECT token FROM "${KEY_TABLE}" WHERE "${column}" = ANY($1::text[])`,
    [pgTextArray(values)],
  )
  return rows.map((r) => r.token)
}

export async function keysWhere(sql: Sql, column: 'user_id' | 'team_id', id: string): Promise<Row[]> {
  return sql.query(`${KEY_WITH_BUDGET} WHERE k."${column}" = $1 ORDER BY k.created_at DESC, k.token DESC`, [
    id,
  ])
}

export interface KeyListFilter {
  user_id?: string | undefined
  team_id?: string | undefined
  key_alias?: string | undefined
  key_hash?: string | undefined
}

/** One page of keys, newest first (LiteLLM: created_at desc, then token desc), and the total. */
export async function listKeys(sql: Sql, filter: KeyListFilter, page: number, size: number) {
  const conditions: string[] = []
  const params: unknown[] = []
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return
    params.push(encode('text', value))
    conditions.push(`k."${column}" = $${params.length}`)
  }
  add('user_id', filter.user_id)
  add('team_id', filter.team_id)
  add('key_alias', filter.key_alias)
  add('token', filter.key_hash)
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''
  const [rows, counted] = await Promise.all([
    sql.query(
      `${KEY_WITH_BUDGET} ${where} ORDER BY k.created_at DESC, k.token DESC
      LIMIT ${size} OFFSET ${(page - 1) * size}`,
      params,
    ),
    sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${KEY_TABLE}" k ${where}`, params),
  ])
  return { rows, total: counted[0]?.n ?? 0 }
}

/**
 * A key's `soft_budget` lives on its linked budget row: updated in place when the key has one, else
 * a new row that the key then links to (returned as `budgetId` to set on the key).
 */
export function linkSoftBudget(existingBudgetId: unknown, softBudget: number | null, actor: string) {
  const budgetId = typeof existingBudgetId === 'string' ? existingBudgetId : crypto.randomUUID()
  const statement = budgetUpsert(budgetId, { soft_budget: softBudget, updated_by: actor, created_by: actor })
  return { statement, budgetId }
}
