import type { Logger } from '../../src/observability/logger'
import type { AwsLambdaRuntime, ResponseStream } from './aws-lambda-runtime'
import { splitHeaders } from './response-to-result'

/**
 * Writes a web Response to a Lambda response stream: status, headers and cookies go into the
 * `HttpResponseStream` prelude, then the body chunk by chunk, waiting for 'drain' whenever the
 * stream asks for back-pressure. Once the first byte is out the status is fixed; the app reports
 * later failures in-band (SSE error events), so a broken body only ends the stream.
 */
export async function writeResponseToStream(
  response: Response,
  responseStream: ResponseStream,
  runtime: AwsLambdaRuntime,
  logger: Logger,
): Promise<void> {
  const { headers, cookies } = splitHeaders(response.headers)
  const prelude = { statusCode: response.status, headers, ...(cookies.length > 0 ? { cookies } : {}) }
  const out = runtime.HttpResponseStream.from(responseStream, prelude)
  let wrote = false
  try {
    if (response.body) {
      const reader = response.body.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        if (out.destroyed || out.writableEnded) {
          await reader.cancel()
          return
        }
        wrote = true
        if (!out.write(value)) await drained(out)
      }
    }
  } catch (error) {
    logger.error('response body failed while streaming', { error })
  } finally {
    // The runtime writes the prelude on the first write() only: an empty body still needs one.
    if (!out.destroyed && !out.writableEnded) {
      if (!wrote) out.write(new Uint8Array(0))
      out.end()
    }
  }
}

/** Resolves on 'drain', or on 'close'/'error' so a dead stream never hangs the invocation. */
function drained(stream: ResponseStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done)
      stream.off('close', done)
      stream.off('error', done)
      resolve()
    }
    stream.on('drain', done)
    stream.on('close', done)
    stream.on('error', done)
  })
}
