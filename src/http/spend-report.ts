import type { Row, Sql } from '../store/sql'

export type ReportGroup = 'team' | 'customer' | 'api_key'

/** Both ends inclusive (whole days, UTC). */
const RANGE = `"startTime" >= $1::date AND "startTime" < $2::date + 1`

/**
 * Per day, per group (team alias or end user), with the spend of each model × key inside it — the
 * queries of LiteLLM's `/global/spend/report`, so the rows have its shape:
 * `[{group_by_day, teams: [{team_name, total_spend, metadata: [{model, api_key, spend, total_tokens}]}]}]`.
 */
const perDay = (groupExpr: string, join: string, groupName: string, listName: string) => `
WITH grouped AS (
  SELECT date_trunc('day', sl."startTime") AS group_by_day, ${groupExpr} AS grp, sl.model, sl.api_key,
    sum(sl.spend) AS model_api_spend, sum(sl.total_tokens) AS model_api_tokens
  FROM "LiteLLM_SpendLogs" sl ${join}
  WHERE sl.${RANGE}
  GROUP BY 1, 2, 3, 4
  ORDER BY 5 DESC, 1, 2, 3, 4
  LIMIT $3::int + 1
),
by_model_key AS (
  SELECT * FROM grouped ORDER BY model_api_spend DESC, group_by_day, grp, model, api_key LIMIT $3::int
),
by_group AS (
  SELECT group_by_day, grp, sum(model_api_spend) AS total_spend,
    jsonb_agg(jsonb_build_object('model', model, 'api_key', api_key, 'spend', model_api_spend,
      'total_tokens', model_api_tokens) ORDER BY model_api_spend DESC) AS metadata
  FROM by_model_key GROUP BY group_by_day, grp
)
SELECT group_by_day,
  jsonb_agg(jsonb_build_object('${groupName}', grp, 'total_spend', total_spend, 'metadata', metadata)
    ORDER BY total_spend DESC) AS ${listName},
  (SELECT count(*) FROM grouped) > $3::int AS truncated
FROM by_group GROUP BY group_by_day ORDER BY group_by_day`

const QUERIES: Record<Exclude<ReportGroup, 'api_key'>, string> = {
  team: perDay(
    `COALESCE(tt.team_alias, 'Unassigned Team')`,
    'LEFT JOIN "LiteLLM_TeamTable" tt ON sl.team_id = tt.team_id',
    'team_name',
    'teams',
  ),
  customer: perDay('sl.end_user', '', 'customer', 'customers'),
}

/** Per key over the whole range, with a per-model breakdown (LiteLLM's `group_by=api_key`). */
const PER_KEY = `
WITH grouped AS (
  SELECT api_key, model, sum(spend) AS spend, sum(prompt_tokens) AS prompt_tokens,
    sum(completion_tokens) AS completion_tokens
  FROM "LiteLLM_SpendLogs"
  WHERE ${RANGE} AND ($4::text IS NULL OR api_key = $4)
  GROUP BY api_key, model
  ORDER BY 3 DESC, 1, 2
  LIMIT $3::int + 1
),
per_model AS (SELECT * FROM grouped ORDER BY spend DESC, api_key, model LIMIT $3::int)
SELECT api_key, sum(spend) AS total_cost, sum(prompt_tokens)::bigint AS total_input_tokens,
  sum(completion_tokens)::bigint AS total_output_tokens,
  jsonb_agg(jsonb_build_object('model', model, 'total_cost', spend, 'total_input_tokens', prompt_tokens,
    'total_output_tokens', completion_tokens) ORDER BY spend DESC) AS model_details,
  (SELECT count(*) FROM grouped) > $3::int AS truncated
FROM per_model
GROUP BY api_key ORDER BY total_cost DESC, api_key`

/**
 * Grouped rows (day × group × model × key, or key × model) read at most. Beyond it the smallest
 * are left out (so totals can fall short) and the answer says so (`truncated`).
 */
export const MAX_REPORT_GROUPS = 100_000

export interface SpendReport {
  rows: Row[]
  truncated: boolean
}

export async function spendReport(
  sql: Sql,
  group: ReportGroup,
  startDate: string,
  endDate: string,
  apiKey: string | undefined,
  maxGroups = MAX_REPORT_GROUPS,
): Promise<SpendReport> {
  const found =
    group === 'api_key'
      ? await sql.query(PER_KEY, [startDate, endDate, maxGroups, apiKey ?? null])
      : await sql.query(QUERIES[group], [startDate, endDate, maxGroups])
  let truncated = false
  const rows = found.map(({ truncated: cut, ...row }) => {
    if (cut === true) truncated = true
    return row
  })
  return { rows, truncated }
}
