import { GatewayError } from '../errors'
import type { ChatMessage } from '../openai/chat-request'
import { isContentPolicyViolation, isContextWindowExceeded } from './error-class'
import { type MockTestingFlags, mockFallbackFailure } from './mock-testing'
import { pythonRepr } from './python-repr'
import { fallbackGroupsFor, type ReliabilitySettings } from './reliability-settings'

/** A client-side fallback (`"fallbacks": ["group-b"]` or `[{"model": "group-b", "messages": [...]}]`). */
export interface ClientFallback {
  model: string
  messages?: ChatMessage[]
}

export interface FallbackRun<T> {
  settings: ReliabilitySettings
  mocks: MockTestingFlags
  /** `disable_fallbacks: true` in the request. */
  disabled: boolean
  /** Client-side fallbacks from the request body, tried instead of the configured lists. */
  clientFallbacks: ClientFallback[] | undefined
  clientGone: () => boolean
  /** Calls one model group (with its retries); `messages` replaces the request's when given. */
  callGroup: (group: string, depth: number, messages?: ChatMessage[]) => Promise<T>
}

export interface FellBack<T> {
  value: T
  /** How many fallback hops the answer took (`x-litellm-attempted-fallbacks`). */
  fallbacks: number
}

const CONTEXT_HINT = "Set 'context_window_fallback' - https://docs.litellm.ai/docs/routing#fallbacks"
const CONTENT_HINT = "Set 'content_policy_fallback' - https://docs.litellm.ai/docs/routing#fallbacks"

/**
 * LiteLLM's `async_function_with_fallbacks`, kept step for step because clients (and the seed
 * README) see its error messages: after the group's retries, a context-window error goes to
 * `context_window_fallbacks`, a content-policy error to `content_policy_fallbacks`, anything else
 * to `fallbacks` (its own entry, else `"*"`, where `default_fallbacks` live). Each fallback group is
 * called the same way, so chains nest, up to `max_fallbacks` deep. The error that finally reaches
 * the client is the original one with `Received Model Group=…`, `Available Model Group Fallbacks=…`
 * and `Error doing the fallback: …` appended, in LiteLLM's exact wording.
 */
export function callWithFallbacks<T>(group: string, run: FallbackRun<T>): Promise<FellBack<T>> {
  return callGroupWithFallbacks(group, 0, run)
}

async function callGroupWithFallbacks<T>(
  group: string,
  depth: number,
  run: FallbackRun<T>,
): Promise<FellBack<T>> {
  try {
    // LiteLLM pops these flags at this level, so only the original group fails.
    const mocked = depth === 0 ? mockFallbackFailure(run.mocks, group, run.settings) : undefined
    if (mocked) throw mocked
    return { value: await run.callGroup(group, depth), fallbacks: depth }
  } catch (thrown) {
    if (!(thrown instanceof GatewayError) || run.disabled || run.clientGone()) throw thrown
    const original = thrown
    const { settings } = run
    let fallbackGroups: string[] | undefined
    let fallbackFailure = ''
    try {
      if (run.clientFallbacks && depth === 0) {
        return await runClientFallbacks(run.clientFallbacks, original, group, run)
      }
      if (isContextWindowExceeded(original)) {
        if (settings.contextWindowFallbacks) {
          fallbackGroups = fallbackGroupsFor(settings.contextWindowFallbacks, group)
          if (fallbackGroups === undefined) throw original
          return await runFallbacks(fallbackGroups, original, group, depth, run)
        }
        original.message += `\nmodel=${group}. context_window_fallbacks=None. fallbacks=${pythonRepr(settings.fallbacks)}.\n\n${CONTEXT_HINT}`
      } else if (isContentPolicyViolation(original)) {
        if (settings.contentPolicyFallbacks) {
          fallbackGroups = fallbackGroupsFor(settings.contentPolicyFallbacks, group)
          if (fallbackGroups === undefined) throw original
          return await runFallbacks(fallbackGroups, original, group, depth, run)
        }
        original.message += `\nmodel=${group}. content_policy_fallback=None. fallbacks=${pythonRepr(settings.fallbacks)}.\n\n${CONTENT_HINT}`
      }
      if (settings.fallbacks) {
        fallbackGroups = fallbackGroupsFor(settings.fallbacks, group)
        if (fallbackGroups === undefined) {
          original.message += `No fallback model group found for original model_group=${group}. Fallbacks=${pythonRepr(settings.fallbacks)}`
          throw original
        }
        return await runFallbacks(fallbackGroups, original, group, depth, run)
      }
    } catch (fallbackError) {
      if (!(fallbackError instanceof GatewayError)) throw fallbackError
      fallbackFailure = fallbackError.message
    }
    original.message += `\nReceived Model Group=${group}\nAvailable Model Group Fallbacks=${
      fallbackGroups === undefined ? 'None' : pythonRepr(fallbackGroups)
    }`
    if (fallbackFailure !== '') original.message += `\nError doing the fallback: ${fallbackFailure}`
    throw original
  }
}

/** LiteLLM's `run_async_fallback`: each group in order; the last failure is what remains. */
async function runFallbacks<T>(
  groups: readonly string[],
  original: GatewayError,
  originalGroup: string,
  depth: number,
  run: FallbackRun<T>,
): Promise<FellBack<T>> {
  if (depth >= run.settings.maxFallbacks) throw original
  let failure: unknown = original
  for (const group of groups) {
    if (group === originalGroup) continue
    if (run.clientGone()) break
    try {
      return await callGroupWithFallbacks(group, depth + 1, run)
    } catch (error) {
      failure = error
    }
  }
  throw failure
}

/** Client-side fallbacks replace the configured lists and do not chain further. */
async function runClientFallbacks<T>(
  fallbacks: readonly ClientFallback[],
  original: GatewayError,
  originalGroup: string,
  run: FallbackRun<T>,
): Promise<FellBack<T>> {
  let failure: unknown = original
  for (const [i, fallback] of fallbacks.slice(0, run.settings.maxFallbacks).entries()) {
    if (fallback.model === originalGroup) continue
    if (run.clientGone()) break
    try {
      return { value: await run.callGroup(fallback.model, i + 1, fallback.messages), fallbacks: i + 1 }
    } catch (error) {
      failure = error
    }
  }
  throw failure
}

/** `fallbacks` in a request body, when it is the client-side form rather than a `[{group: [...]}]` map. */
export function clientFallbacksOf(value: unknown): ClientFallback[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined
  const out: ClientFallback[] = []
  for (const item of value) {
    if (typeof item === 'string') out.push({ model: item })
    else if (
      typeof item === 'object' &&
      item !== null &&
      typeof (item as { model?: unknown }).model === 'string'
    ) {
      const { model, messages } = item as { model: string; messages?: unknown }
      out.push(Array.isArray(messages) ? { model, messages: messages as ChatMessage[] } : { model })
    } else return undefined
  }
  return out
}
