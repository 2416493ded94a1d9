import type { Sql } from '../store/sql'

export type ReportGroup = 'team' | 'customer' | 'api_key'

/** Both ends inclusive (whole days, UTC). */
const RANGE = `"startTime" >= $1::date AND "startTime" < $2::date + 1`

/**
 * Per day, per group (team alias or end user), with the spend of each model × key inside it — the
 * queries of LiteLLM's `/global/spend/report`, so the rows have its shape:
 * `[{group_by_day, teams: [{team_name, total_spend, metadata: [{model, api_key, spend, total_tokens}]}]}]`.
 */
const perDay = (groupExpr: string, join: string, groupName: string, listName: string) => `
WITH by_model_key AS (
  SELECT date_trunc('day', sl."startTime") AS group_by_day, ${groupExpr} AS grp, sl.model, sl.api_key,
    sum(sl.spend) AS model_api_spend, sum(sl.total_tokens) AS model_api_tokens
  FROM "LiteLLM_SpendLogs" sl ${join}
  WHERE sl.${RANGE}
  GROUP BY 1, 2, 3, 4
),
by_group AS (
  SELECT group_by_day, grp, sum(model_api_spend) AS total_spend,
    jsonb_agg(jsonb_build_object('model', model, 'api_key', api_key, 'spend', model_api_spend,
      'total_tokens', model_api_tokens) ORDER BY model_api_spend DESC) AS metadata
  FROM by_model_key GROUP BY group_by_day, grp
)
SELECT group_by_day,
  jsonb_agg(jsonb_build_object('${groupName}', grp, 'total_spend', total_spend, 'metadata', metadata)
    ORDER BY total_spend DESC) AS ${listName}
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
SELECT api_key, sum(spend) AS total_cost, sum(prompt_tokens)::bigint AS total_input_tokens,
  sum(completion_tokens)::bigint AS total_output_tokens,
  jsonb_agg(jsonb_build_object('model', model, 'total_cost', spend, 'total_input_tokens', prompt_tokens,
    'total_output_tokens', completion_tokens) ORDER BY spend DESC) AS model_details
FROM (
  SELECT api_key, model, sum(spend) AS spend, sum(prompt_tokens) AS prompt_tokens,
    sum(completion_tokens) AS completion_tokens
  FROM "LiteLLM_SpendLogs"
  WHERE ${RANGE} AND ($3::text IS NULL OR api_key = $3)
  GROUP BY api_key, model
) per_model
GROUP BY api_key ORDER BY total_cost DESC`

export async function spendReport(
  sql: Sql,
  group: ReportGroup,
  startDate: string,
  endDate: string,
  apiKey: string | undefined,
) {
  if (group === 'api_key') return sql.query(PER_KEY, [startDate, endDate, apiKey ?? null])
  return sql.query(QUERIES[group], [startDate, endDate])
}
