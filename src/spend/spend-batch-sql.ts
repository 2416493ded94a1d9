import type { Sql } from '../store/sql'
import { boundSpendRecord } from './spend-bounds'
import type { SpendRecord } from './spend-types'

/**
 * One batch of calls written in ONE statement: the spend-log rows are inserted from a jsonb
 * parameter, and the key, user and team increments are aggregated from the rows the INSERT
 * actually returned (data-modifying CTEs).
 *
 * Why this is exact:
 * - A batch resent after an ambiguous failure (the commit happened, the reply was lost) inserts
 *   nothing the second time (ON CONFLICT (request_id) DO NOTHING), so it increments nothing: no
 *   double count, without any bookkeeping of which batches were committed.
 * - Increments are `spend = spend + x` under row locks, so concurrent instances never lose one.
 * - Statement = transaction: logs and totals are never out of step.
 * Deadlocks between instances updating the same rows in a different order are possible; Postgres
 * aborts one statement, which is retried like any failure.
 *
 * `model_spend` is merged defensively: a database adopted from LiteLLM can hold JSON null, an array
 * or non-numeric entries there, and one such row must not fail every batch that touches its key.
 * A value that is not a JSON object is treated as `{}`; an entry that is not a finite number is
 * replaced by the increment when this batch adds to it, and left as it is otherwise.
 */
const BATCH_STATEMENT = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
    request_id text, call_type text, api_key text, spend float8,
    prompt_tokens integer, completion_tokens integer, total_tokens integer,
    start_time timestamptz, end_time timestamptz, completion_start_time timestamptz, duration_ms integer,
    model text, model_id text, model_group text, provider text, api_base text,
    user_id text, team_id text, end_user text, status text, metadata jsonb)
),
logged AS (
  INSERT INTO "LiteLLM_SpendLogs" (
    request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens,
    "startTime", "endTime", "completionStartTime", request_duration_ms,
    model, model_id, model_group, custom_llm_provider, api_base, "user", team_id, end_user,
    status, metadata, cache_hit)
  SELECT request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens,
    start_time AT TIME ZONE 'UTC', end_time AT TIME ZONE 'UTC', completion_start_time AT TIME ZONE 'UTC',
    duration_ms, model, model_id, model_group, provider, api_base, COALESCE(user_id, ''), team_id, end_user,
    status, metadata, 'False'
  FROM input
  ON CONFLICT (request_id) DO NOTHING
  RETURNING api_key, "user" AS user_id, team_id, COALESCE(model_group, '') AS model_group, spend
),
by_key_model AS (
  SELECT api_key, model_group, sum(spend) AS spend FROM logged WHERE api_key <> '' GROUP BY api_key, model_group
),
by_key AS (
  SELECT api_key, sum(spend) AS spend,
    COALESCE(jsonb_object_agg(model_group, spend) FILTER (WHERE model_group <> ''), '{}'::jsonb) AS models
  FROM by_key_model GROUP BY api_key
),
keys AS (
  UPDATE "LiteLLM_VerificationToken" t
  SET spend = t.spend + k.spend,
    model_spend = (
      SELECT o.obj || COALESCE(
        (SELECT jsonb_object_agg(inc.name, ${jsonNumber('o.obj -> inc.name')} + (inc.value #>> '{}')::float8)
         FROM jsonb_each(k.models) AS inc(name, value)),
        '{}'::jsonb)
      FROM (SELECT CASE WHEN jsonb_typeof(t.model_spend) = 'object' THEN t.model_spend ELSE '{}'::jsonb END AS obj) o)
  FROM by_key k WHERE t.token = k.api_key
  RETURNING t.token
),
users AS (
  UPDATE "LiteLLM_UserTable" u SET spend = u.spend + s.spend
  FROM (SELECT user_id, sum(spend) AS spend FROM logged WHERE user_id <> '' GROUP BY user_id) s
  WHERE u.user_id = s.user_id
  RETURNING u.user_id
),
teams AS (
  UPDATE "LiteLLM_TeamTable" tt SET spend = tt.spend + s.spend
  FROM (SELECT team_id, sum(spend) AS spend FROM logged WHERE team_id <> '' GROUP BY team_id) s
  WHERE tt.team_id = s.team_id
  RETURNING tt.team_id
)
SELECT (SELECT count(*) FROM logged)::int AS inserted, (SELECT count(*) FROM keys)::int AS keys,
  (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM teams)::int AS teams`

export interface BatchResult {
  /** Rows inserted now (fewer than sent when some were already written by an earlier attempt). */
  inserted: number
  keys: number
  users: number
  teams: number
}

export function writeSpendBatch(sql: Sql, rows: readonly SpendRecord[]): Promise<BatchResult> {
  return writeSpendJson(sql, batchJson(rows))
}

/** The same, for rows already serialised with `rowJson` and joined as a JSON array. */
export async function writeSpendJson(sql: Sql, json: string): Promise<BatchResult> {
  const [result] = await sql.query<Row>(BATCH_STATEMENT, [json])
  return {
    inserted: result?.inserted ?? 0,
    keys: result?.keys ?? 0,
    users: result?.users ?? 0,
    teams: result?.teams ?? 0,
  }
}

type Row = { inserted: number; keys: number; users: number; teams: number }

/** The jsonb parameter: one object per row, keys as in the recordset definition above. */
export function batchJson(rows: readonly SpendRecord[]): string {
  return `[${rows.map(rowJson).join(',')}]`
}

/**
 * One row of the jsonb parameter. Free text is bounded first (spend-bounds.ts), so a row is at most
 * a few tens of KB whatever a client sent.
 */
export function rowJson(record: SpendRecord): string {
  const r = boundSpendRecord(record)
  return JSON.stringify(
    {
      request_id: r.requestId,
      call_type: r.callType,
      api_key: r.apiKey,
      spend: finite(r.spend),
      prompt_tokens: int4(r.usage.prompt_tokens),
      completion_tokens: int4(r.usage.completion_tokens),
      total_tokens: int4(r.usage.total_tokens),
      start_time: r.startTime.toISOString(),
      end_time: r.endTime.toISOString(),
      completion_start_time: r.completionStartTime?.toISOString() ?? null,
      duration_ms: int4(r.endTime.getTime() - r.startTime.getTime()),
      model: r.model,
      model_id: r.modelId,
      model_group: r.modelGroup,
      provider: r.provider,
      api_base: r.apiBase,
      user_id: r.userId,
      team_id: r.teamId,
      end_user: r.endUser,
      status: r.status,
      metadata: r.metadata,
    },
    (_key, value: unknown) => (typeof value === 'string' ? postgresText(value) : value),
  )
}

/**
 * Postgres text and jsonb reject NUL characters and lone surrogates. Strings reach this batch from
 * clients (the `user` field, aliases), so one bad string would otherwise fail every retry of the
 * batch it is in and hold up all spend behind it.
 */
function postgresText(text: string): string {
  return text
    .replaceAll('\u0000', '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
}

const finite = (n: number): number => (Number.isFinite(n) ? n : 0)

/** Token columns are `integer`: an absurd provider count must not make the batch unwritable. */
const int4 = (n: number): number => Math.min(Math.max(Math.round(finite(n)), 0), 2_147_483_647)

/**
 * SQL for the float8 value of a jsonb expression when it is a number Postgres can hold as float8,
 * else 0 (null, text, objects, or numbers beyond float8's range in a hand-edited row).
 */
export function jsonNumber(expr: string): string {
  // Nested WHENs, not AND: Postgres does not promise to evaluate AND operands left to right.
  return `(CASE WHEN jsonb_typeof(${expr}) IS DISTINCT FROM 'number' THEN 0
    WHEN abs((${expr} #>> '{}')::numeric) < 1e300 THEN (${expr} #>> '{}')::float8 ELSE 0 END)`
}
