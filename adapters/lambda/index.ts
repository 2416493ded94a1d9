import { lambdaLogger } from './app-cache'
import {
  type AwsLambdaRuntime,
  awsLambdaRuntime,
  type ResponseStream,
  type StreamingHandler,
} from './aws-lambda-runtime'
import { backgroundWork } from './background-work'
import { requestFromEvent } from './event-to-request'
import type { HttpResultV1, HttpResultV2, LambdaContext } from './events'
import { respond } from './respond'
import { resultV1FromResponse, resultV2FromResponse } from './response-to-result'
import { writeResponseToStream } from './streaming'

/**
 * AWS Lambda entry points (bundled to dist/lambda.mjs):
 * - `handler`: buffered; Function URL (BUFFERED), HTTP API and REST API proxy integrations.
 * - `streamingHandler`: response streaming; Function URL with InvokeMode RESPONSE_STREAM (or a
 *   REST API with response transfer mode STREAM). Use this one for `stream: true` chat calls.
 * Config: PROXY_CONFIG, LITELLM_CONFIG_BUCKET_NAME + LITELLM_CONFIG_BUCKET_OBJECT_KEY,
 * CONFIG_FILE_PATH, else the embedded demo; see app-cache.ts. Virtual keys and spend: DATABASE_URL
 * (Postgres over TCP) plus REDIS_URL / REDIS_HOST or UPSTASH_REDIS_REST_*; see stores.ts. Both
 * handlers wait for the app's `waitUntil` work (the spend write included) before returning, because
 * Lambda freezes the environment as soon as they do.
 */
const logger = lambdaLogger()

export async function handler(
  event: unknown,
  _context?: LambdaContext,
): Promise<HttpResultV2 | HttpResultV1> {
  const { request, format } = requestFromEvent(event)
  const work = backgroundWork(logger)
  try {
    const response = await respond(request, work, logger)
    return format === 'v2' ? await resultV2FromResponse(response) : await resultV1FromResponse(response)
  } finally {
    await work.settle()
  }
}

const streamResponse =
  (runtime: AwsLambdaRuntime): StreamingHandler =>
  async (event, responseStream) => {
    const controller = new AbortController()
    let finished = false
    // A stream that dies before we end it means nobody is listening: stop the upstream call.
    const abort = () => {
      if (!finished && !responseStream.writableEnded) controller.abort()
    }
    responseStream.on('close', abort)
    responseStream.on('error', abort)
    const { request } = requestFromEvent(event, controller.signal)
    const work = backgroundWork(logger)
    try {
      const response = await respond(request, work, logger)
      await writeResponseToStream(response, responseStream, runtime, logger)
    } finally {
      finished = true
      await work.settle()
    }
  }

const missingRuntime = () =>
  new Error(
    'multillm-proxy: streamingHandler needs the AWS Lambda Node.js runtime (the awslambda global is missing); use `handler` for buffered invocations',
  )

const runtime = awsLambdaRuntime()

export const streamingHandler: StreamingHandler = runtime
  ? runtime.streamifyResponse(streamResponse(runtime))
  : async (_event: unknown, _responseStream: ResponseStream) => {
      throw missingRuntime()
    }
