import { GatewayError } from '../errors'

/**
 * One AbortSignal per upstream call: fires when the client disconnects or the call's timeout
 * passes. `toError` turns the abort into the error the client should see (408 on timeout,
 * LiteLLM's `litellm.Timeout`), or passes other errors through; `done` releases the timer and the
 * listener once the call has ended.
 *
 * A plain controller and timer rather than `AbortSignal.any`/`AbortSignal.timeout`: on Node 20
 * those cost a measurable share of a request and keep signals alive until garbage collection.
 */
export function callSignal(clientSignal: AbortSignal | undefined, timeoutSeconds: number, model: string) {
  const controller = new AbortController()
  let timedOut = false
  const onClientAbort = () => controller.abort(clientSignal?.reason)
  clientSignal?.addEventListener('abort', onClientAbort, { once: true })
  const timer = setTimeout(
    () => {
      timedOut = true
      controller.abort(new DOMException(`timed out after ${timeoutSeconds}s`, 'TimeoutError'))
    },
    Math.max(1, Math.round(timeoutSeconds * 1000)),
  )
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    done() {
      clearTimeout(timer)
      clientSignal?.removeEventListener('abort', onClientAbort)
    },
    toError(error: unknown): unknown {
      if (!timedOut) return error
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
