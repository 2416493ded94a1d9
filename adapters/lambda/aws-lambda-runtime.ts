import type { LambdaContext } from './events'

/**
 * Types for the `awslambda` global that the Node.js managed runtimes inject (there is no npm
 * package for it). The response stream the runtime hands over is Writable-like, not necessarily a
 * `stream.Writable` instance, so only the members the adapter uses are declared.
 */
export interface ResponseStream {
  write(chunk: Uint8Array): boolean
  end(): unknown
  on(event: 'drain' | 'close' | 'error', listener: () => void): unknown
  off(event: 'drain' | 'close' | 'error', listener: () => void): unknown
  readonly destroyed?: boolean
  readonly writableEnded?: boolean
}

/** The JSON prelude `HttpResponseStream.from` writes before the first body byte. */
export interface ResponsePrelude {
  statusCode: number
  headers: Record<string, string>
  cookies?: string[]
}

export type StreamingHandler = (
  event: unknown,
  responseStream: ResponseStream,
  context?: LambdaContext,
) => Promise<void>

export interface AwsLambdaRuntime {
  streamifyResponse(handler: StreamingHandler): StreamingHandler
  HttpResponseStream: { from(stream: ResponseStream, prelude: ResponsePrelude): ResponseStream }
}

/** The runtime's `awslambda` global, or undefined outside a Lambda Node.js runtime. */
export function awsLambdaRuntime(): AwsLambdaRuntime | undefined {
  const candidate: unknown = Reflect.get(globalThis, 'awslambda')
  if (typeof candidate !== 'object' || candidate === null) return undefined
  const streamify: unknown = Reflect.get(candidate, 'streamifyResponse')
  const httpResponseStream: unknown = Reflect.get(candidate, 'HttpResponseStream')
  const from: unknown =
    typeof httpResponseStream === 'function' || typeof httpResponseStream === 'object'
      ? httpResponseStream && Reflect.get(httpResponseStream, 'from')
      : undefined
  if (typeof streamify !== 'function' || typeof from !== 'function') return undefined
  return candidate as AwsLambdaRuntime
}
