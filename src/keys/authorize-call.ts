import { pythonFloatRepr } from '../config/deployment-id'
import { GatewayError } from '../errors'
import type { Gateway } from '../http/context'
import type { SpendEntity } from '../spend/spend-types'
import { LiteLLMError } from './litellm-error'
import type { Caller, VirtualKey } from './virtual-key'

/** LiteLLM's special model names: every model group of the proxy, or whatever the team allows. */
const ALL_PROXY_MODELS = 'all-proxy-models'
const ALL_TEAM_MODELS = 'all-team-models'
/** In a user's `models`: the user's personal keys may call nothing (only team keys work). */
const NO_DEFAULT_MODELS = 'no-default-models'

/**
 * Whether this caller may call this model group now: model access (key, team, user), blocked team,
 * budgets (key, user, team, per model). Throws the GatewayError LiteLLM would answer with.
 * Expiry, a blocked key or team and `allowed_routes` are already refused by authenticate (they
 * hold for every route).
 *
 * `requested` is the `model` of the request when it differs from the group: a deployment addressed
 * by its id. Access must then be allowed for both names, and the group's budgets apply, so a
 * deployment id cannot get around what is set for its group.
 */
export async function authorizeCall(
  caller: Caller,
  modelGroup: string,
  gw: Gateway,
  requested: string = modelGroup,
): Promise<void> {
  // "Rate limits and budgets do not apply to the proxy admin."
  if (caller.isMaster || !caller.key) return
  const key = caller.key
  checkModelAccess(key, modelGroup, requested)
  if (key.team?.blocked) throw teamBlockedError(key.team.id)
  await checkBudgets(key, modelGroup, gw)
}

/** LiteLLM's answer for any call with a key of a blocked team. */
export function teamBlockedError(teamId: string): GatewayError {
  return new GatewayError({
    status: 401,
    message: `Authentication Error, Team=${teamId} is blocked. Update via \`/team/unblock\` if you're admin.`,
    type: 'auth_error',
    param: 'None',
    origin: 'client',
  })
}

export const allowsAll = (models: readonly string[]) =>
  models.length === 0 || models.includes(ALL_PROXY_MODELS)

/** Python's `str(list)`, as LiteLLM formats `models=[...]` in its messages. */
const pyList = (items: readonly string[]) => `[${items.map((m) => `'${m}'`).join(', ')}]`

/** The first of the names that `models` (non-empty, not all) does not list. */
const deniedName = (models: readonly string[], names: readonly string[]) =>
  names.find((name) => !models.includes(name))

/**
 * LiteLLM's `can_key_call_model`, `can_team_access_model` and `can_user_call_model`:
 * - the key's `models`, unless they are empty (= all) or `all-team-models`;
 * - for a team key, always the team's `models` too (empty = all);
 * - for a personal key (no team), the user's `models` (empty = all).
 * Older LiteLLM wording and status (401), which SDKs map to AuthenticationError; newer releases
 * send 403 with a sanitised message.
 */
export function checkModelAccess(key: VirtualKey, modelGroup: string, requested: string = modelGroup): void {
  const names = requested === modelGroup ? [modelGroup] : [requested, modelGroup]
  const keyModels = key.models.filter((m) => m !== ALL_TEAM_MODELS)
  const deferToTeam = keyModels.length === 0 || key.models.includes(ALL_TEAM_MODELS)
  const keyDenied = deferToTeam || allowsAll(keyModels) ? undefined : deniedName(keyModels, names)
  if (keyDenied !== undefined) {
    throw new GatewayError({
      status: 401,
      message: `key not allowed to access model. This key can only access models=${pyList(key.models)}. Tried to access ${keyDenied}`,
      type: 'key_model_access_denied',
      param: 'model',
      origin: 'client',
    })
  }
  const team = key.team
  const teamDenied = team && !allowsAll(team.models) ? deniedName(team.models, names) : undefined
  if (team && teamDenied !== undefined) {
    throw new LiteLLMError({
      status: 401,
      message: `Team=${team.id} not allowed to access model. This team can only access models=${pyList(team.models)}. Tried to access ${teamDenied}`,
      type: 'team_model_access_denied',
      param: 'model',
    })
  }
  const user = key.user
  if (team || !user) return
  if (user.models.includes(NO_DEFAULT_MODELS)) {
    throw new LiteLLMError({
      status: 401,
      message: `User not allowed to access model. No default model access, only team models allowed. Tried to access ${requested}`,
      type: 'key_model_access_denied',
      param: 'model',
    })
  }
  const userDenied = allowsAll(user.models) ? undefined : deniedName(user.models, names)
  if (userDenied !== undefined) {
    throw new LiteLLMError({
      status: 401,
      message: `User=${user.id} not allowed to access model. This user can only access models=${pyList(user.models)}. Tried to access ${userDenied}`,
      type: 'user_model_access_denied',
      param: 'model',
    })
  }
}

/** Whether checkModelAccess lets this key call this group (for filtering `/v1/models`). */
export function mayCallModel(key: VirtualKey, modelGroup: string): boolean {
  try {
    checkModelAccess(key, modelGroup)
    return true
  } catch {
    return false
  }
}

interface BudgetCheck {
  entity: SpendEntity
  limit: number
  error: (spend: number) => GatewayError
}

/**
 * The budgets that apply to this call. A team key is held to the team's budget, not its user's
 * personal one (LiteLLM: `max_internal_user_budget` only covers personal keys).
 */
export function applicableBudgets(key: VirtualKey, modelGroup: string): BudgetCheck[] {
  const checks: BudgetCheck[] = []
  if (key.maxBudget !== null) {
    checks.push({
      entity: { kind: 'key', id: key.token },
      limit: key.maxBudget,
      error: (spend) =>
        budgetExceeded(
          `Budget has been exceeded! Current cost: ${py(spend)}, Max budget: ${py(key.maxBudget ?? 0)}`,
        ),
    })
  }
  const user = key.user
  // The joined team row, not the key's team_id: a team_id naming no team has no budget to apply.
  if (user && !key.team && user.maxBudget !== null) {
    const limit = user.maxBudget
    checks.push({
      entity: { kind: 'user', id: user.id },
      limit,
      error: (spend) =>
        budgetExceeded(
          `ExceededBudget: User=${user.id} over budget. Spend=${py(spend)}, Budget=${py(limit)}`,
        ),
    })
  }
  const team = key.team
  if (team && team.maxBudget !== null) {
    const limit = team.maxBudget
    checks.push({
      entity: { kind: 'team', id: team.id },
      limit,
      error: (spend) =>
        budgetExceeded(
          `Budget has been exceeded! Team=${team.id} Current cost: ${py(spend)}, Max budget: ${py(limit)}`,
        ),
    })
  }
  const modelBudget = key.modelMaxBudget[modelGroup]
  if (modelBudget) {
    checks.push({
      entity: { kind: 'key-model', id: key.token, model: modelGroup },
      limit: modelBudget.budget_limit,
      error: () =>
        budgetExceeded(
          `LiteLLM Virtual Key: ${key.token}, key_alias: ${key.keyAlias}, exceeded budget for model=${modelGroup}`,
        ),
    })
  }
  return checks
}

/**
 * Pre-call enforcement as in LiteLLM: refused once recorded spend >= max_budget (calls in flight
 * can overshoot). All totals come from ONE read, and none at all for keys without budgets, so the
 * common case costs nothing here.
 */
async function checkBudgets(key: VirtualKey, modelGroup: string, gw: Gateway): Promise<void> {
  const checks = applicableBudgets(key, modelGroup)
  if (checks.length === 0) return
  const totals = await gw.spend.totals.current(checks.map((c) => c.entity))
  checks.forEach((check, i) => {
    const spend = totals[i] ?? 0
    if (spend >= check.limit) throw check.error(spend)
  })
}

const py = (n: number) => pythonFloatRepr(n)

/**
 * HTTP 400 with `type: budget_exceeded`, as in the older LiteLLM example in our reference
 * (`{"message": "Budget has been exceeded! ...", "type": "budget_exceeded", "param": null,
 * "code": "400"}`). Newer LiteLLM releases raise BudgetExceededError as 429; we keep 400 because a
 * 429 makes OpenAI SDKs retry a request that cannot succeed until the budget resets.
 */
function budgetExceeded(message: string): GatewayError {
  return new GatewayError({
    status: 400,
    message,
    type: 'budget_exceeded',
    param: null,
    retryable: false,
    origin: 'client',
  })
}
