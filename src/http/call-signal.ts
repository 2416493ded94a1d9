import { GatewayError } from '../errors'

/** setTimeout's ceiling (2^31-1 ms, ~24.8 days); larger values fire at once instead of never. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface CallTimeouts {
  /** Seconds to wait for the answer (non-streaming) or the first chunk (streaming: `stream_timeout`). */
  firstByteSeconds: number
  /** Streaming only: seconds allowed between two chunks once the stream has started. */
  idleSeconds: number
  /** The request shortened the timeout: running out of it says nothing about the deployment. */
  callerShortened?: boolean
}

/**
 * One AbortSignal per upstream call: fires when the client disconnects or the call stops making
 * progress. A stream is bounded by time to first chunk (LiteLLM's `stream_timeout`, else `timeout`)
 * and then by the gap between chunks, so a healthy long generation is never cut at a fixed total.
 * `toError` turns a timeout abort into the 408 the client sees (LiteLLM's `litellm.Timeout`).
 *
 * A plain controller and timer rather than `AbortSignal.any`/`AbortSignal.timeout`: on Node 20
 * those cost a measurable share of a request and keep signals alive until garbage collection.
 */
export function callSignal(clientSignal: AbortSignal | undefined, timeouts: CallTimeouts, model: string) {
  const controller = new AbortController()
  let timedOutAfter: number | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = (seconds: number) => {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(
      () => {
        timedOutAfter = seconds
        controller.abort(new DOMException(`timed out after ${seconds}s`, 'TimeoutError'))
      },
      Math.min(MAX_TIMER_MS, Math.max(1, Math.round(seconds * 1000))),
    )
  }
  const onClientAbort = () => controller.abort(clientSignal?.reason)
  clientSignal?.addEventListener('abort', onClientAbort, { once: true })
  arm(timeouts.firstByteSeconds)

  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    /** A chunk arrived: from now on only the gap to the next one is bounded. */
    progress: () => arm(timeouts.idleSeconds),
    done() {
      if (timer !== undefined) clearTimeout(timer)
      clientSignal?.removeEventListener('abort', onClientAbort)
    },
    toError(error: unknown): unknown {
      if (timedOutAfter === undefined) return error
      return new GatewayError({
        status: 408,
        message: `litellm.Timeout: Request timed out after ${timedOutAfter} seconds (model=${model}).`,
        type: 'timeout_error',
        origin: 'upstream',
        affectsDeployment: timeouts.callerShortened !== true,
        cause: error,
      })
    },
  }
}
