import { errorResponse, GatewayError } from '../../src/errors'
import type { Logger } from '../../src/observability/logger'
import { getApp } from './app-cache'
import type { BackgroundWork } from './background-work'

/**
 * Runs one request through the cached app. If the app cannot be built (bad config, unreadable S3
 * object) the caller gets an OpenAI-style 500 and the details go to the function's logs only.
 */
export async function respond(request: Request, work: BackgroundWork, logger: Logger): Promise<Response> {
  let app: Awaited<ReturnType<typeof getApp>>
  try {
    app = await getApp()
  } catch (error) {
    logger.error('gateway start-up failed', { error })
    return errorResponse(
      new GatewayError({
        status: 500,
        message: 'The gateway could not load its configuration; see the function logs for details.',
        origin: 'gateway',
      }),
    )
  }
  return app.fetch(request, { waitUntil: (promise) => work.waitUntil(promise) })
}
