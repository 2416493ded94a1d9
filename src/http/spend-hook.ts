import type { GatewayError } from '../errors'
import type { Caller } from '../keys/virtual-key'
import type { Logger } from '../observability/logger'
import type { Usage } from '../openai/chat-response'
import type { Deployment } from '../providers/types'
import { callCost } from '../spend/cost'
import { truncateText } from '../spend/spend-bounds'
import type { SpendRecord } from '../spend/spend-types'
import type { Gateway, RequestContext } from './context'

/** What the spend hook needs to know about a call, whichever way it ended. */
export interface SpendCall {
  gw: Gateway
  context: RequestContext
  caller: Caller
  deployment: Deployment
  callId: string
  /** Wall-clock ms at the start (spend-log timestamps). */
  startedAt: number
  /** Monotonic ms at the start (duration for per-second prices). */
  started: number
  apiBase?: string
  /** The request's `user` field: LiteLLM's end user. */
  endUser?: string
  /** LiteLLM's `call_type` in the spend log; default `acompletion`. */
  callType?: SpendRecord['callType']
}

export interface SpendOutcome {
  requestId: string
  usage?: Usage
  status: 'success' | 'failure'
  /** Wall-clock ms of the first streamed token; for answers in one piece, their end. */
  firstTokenAt?: number
  error?: GatewayError
  /**
   * `usage` is our estimate, not the provider's count (a stream that ended before its usage
   * arrived; spend/usage-estimate.ts): the row's metadata says `usage_estimated: true`.
   */
  usageEstimated?: boolean
}

/** Provider error texts can be long (and echo the request); the row keeps their start. */
const MAX_ERROR_MESSAGE_CHARS = 2000

const NO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }

/**
 * Records one finished call and returns its cost. Cheap on the hot path: pricing is synchronous,
 * `record` only queues (its counter and database work goes to `waitUntil`).
 */
export function recordCallSpend(call: SpendCall, outcome: SpendOutcome): number {
  const { gw, caller, deployment } = call
  const usage = outcome.usage ?? NO_USAGE
  const durationMs = gw.now() - call.started
  const spend = outcome.usage ? callCost(deployment, usage, durationMs, warnOncePerModel(gw.logger)) : 0
  const endTime = new Date(gw.clock())
  const key = caller.key
  const record: SpendRecord = {
    requestId: outcome.requestId,
    callType: call.callType ?? 'acompletion',
    apiKey: caller.keyHash,
    spend,
    usage,
    startTime: new Date(call.startedAt),
    endTime,
    completionStartTime: outcome.firstTokenAt === undefined ? null : new Date(outcome.firstTokenAt),
    model: deployment.providerModel,
    modelId: deployment.id,
    modelGroup: deployment.modelName,
    provider: deployment.provider,
    apiBase: call.apiBase ?? '',
    userId: key?.userId ?? null,
    teamId: key?.teamId ?? null,
    endUser: call.endUser ?? null,
    status: outcome.status,
    // LiteLLM's metadata keys, so dashboards reading them keep working.
    metadata: {
      user_api_key: caller.keyHash,
      user_api_key_alias: key?.keyAlias ?? null,
      user_api_key_user_id: key?.userId ?? null,
      user_api_key_team_id: key?.teamId ?? null,
      litellm_call_id: call.callId,
      ...(outcome.usageEstimated && { usage_estimated: true }),
      ...(outcome.error && {
        error_information: {
          error_code: String(outcome.error.status),
          error_class: outcome.error.type,
          error_message: truncateText(outcome.error.message, MAX_ERROR_MESSAGE_CHARS),
        },
      }),
    },
  }
  try {
    gw.spend.record(record, call.context.waitUntil)
  } catch (error) {
    // Spend must never fail a call that already has its answer.
    gw.logger.error('spend not recorded', { request_id: record.requestId, error })
  }
  return spend
}

/**
 * The caller key's spend before this call, for the `x-litellm-key-spend` header. Usually known
 * without a read: the budget check just read it, or this instance's last call of the key got it
 * back from the add script (SpendService.knownKeySpend). Otherwise read while the upstream works,
 * so the header costs no extra wait. Undefined for the master key (it has no key row or budget)
 * and when the totals cannot be read.
 */
export function keySpendBefore(gw: Gateway, caller: Caller): Promise<number | undefined> {
  if (!caller.key || !gw.stores) return Promise.resolve(undefined)
  const known = gw.spend.knownKeySpend(caller.keyHash)
  if (known !== undefined) return Promise.resolve(known)
  return gw.spend.totals
    .current([{ kind: 'key', id: caller.keyHash }])
    .then(([spend]) => spend)
    .catch((error: unknown) => {
      gw.logger.warn('key spend not readable for x-litellm-key-spend', { error })
      return undefined
    })
}

/** LiteLLM's cost headers: this call's cost, the key's spend after it and its budget. */
export function setSpendHeaders(
  headers: Headers,
  caller: Caller,
  cost: number,
  keySpend: number | undefined,
): void {
  headers.set('x-litellm-response-cost', String(cost))
  if (keySpend !== undefined) headers.set('x-litellm-key-spend', String(keySpend + cost))
  const maxBudget = caller.key?.maxBudget
  if (maxBudget !== null && maxBudget !== undefined)
    headers.set('x-litellm-key-max-budget', String(maxBudget))
}

/** Warned models per logger: a missing price is worth one line, not one per call. */
const warned = new WeakMap<Logger, Set<string>>()

function warnOncePerModel(logger: Logger): Pick<Logger, 'warn'> {
  return {
    warn(message, fields) {
      const seen = warned.get(logger) ?? new Set<string>()
      warned.set(logger, seen)
      const model = String(fields?.model_id ?? fields?.model ?? '')
      if (seen.has(model)) return
      seen.add(model)
      logger.warn(message, fields)
    },
  }
}
