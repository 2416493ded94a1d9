import { GatewayError } from '../errors'

/**
 * One AbortSignal per upstream call: fires when the client disconnects or the call's timeout
 * passes. `toError` turns the abort into the error the client should see (408 on timeout,
 * LiteLLM's `litellm.Timeout`), or passes other errors through.
 */
export function callSignal(clientSignal: AbortSignal | undefined, timeoutSeconds: number, model: string) {
  const controller = new AbortController()
  const timeout = AbortSignal.timeout(Math.max(1, Math.round(timeoutSeconds * 1000)))
  const signal = AbortSignal.any(
    clientSignal ? [clientSignal, timeout, controller.signal] : [timeout, controller.signal],
  )
  return {
    signal,
    abort: () => controller.abort(),
    toError(error: unknown): unknown {
      if (!timeout.aborted) return error
      return new GatewayError({
        status: 408,
        message: `litellm.Timeout: Request timed out after ${timeoutSeconds} seconds (model=${model}).`,
        type: 'timeout_error',
        origin: 'upstream',
        cause: error,
      })
    },
  }
}
