import { type App, createApp } from '../../src/app'
import { configuredMasterKey } from '../../src/auth/master-key'
import { credentialChain } from '../../src/aws/credential-chain'
import { EMBEDDED_CONFIG_YAML } from '../../src/config/embedded'
import { loadConfigText, resolveConfigSource } from '../../src/config/load'
import { parseConfig } from '../../src/config/parse'
import type { Env } from '../../src/env'
import { errorResponse, GatewayError } from '../../src/errors'
import { createLogger, type Logger } from '../../src/observability/logger'
import { openWorkerStores } from './stores'

/**
 * Cloudflare Workers entry. Config comes from the `PROXY_CONFIG` variable/secret (the YAML text),
 * from S3 (`LITELLM_CONFIG_BUCKET_NAME` + `LITELLM_CONFIG_BUCKET_OBJECT_KEY`), or the embedded demo.
 * Stores (virtual keys, spend): `DATABASE_URL` (Neon HTTP; `NEON_FETCH_ENDPOINT` to override the
 * endpoint) and `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN`; see stores.ts.
 *
 * The app (stores opened and migrated) is built once per isolate and reused. There are no timers:
 * spend writes, key-cache invalidation polls and budget resets happen on requests, and
 * `ctx.waitUntil` keeps that work alive after the response.
 */
interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void
}

let cached: { bindings: object; logger: Logger; app: Promise<App> } | undefined

export default {
  async fetch(
    request: Request,
    bindings: Record<string, unknown>,
    ctx: ExecutionContextLike,
  ): Promise<Response> {
    if (cached?.bindings !== bindings) {
      const env = stringBindings(bindings)
      const logger = workerLogger(env)
      cached = { bindings, logger, app: buildApp(env, logger) }
    }
    const building = cached
    let app: App
    try {
      app = await building.app
    } catch (error) {
      // Forgotten so the next request tries again (a fixed secret, a database that is back up).
      if (cached === building) cached = undefined
      return startupFailed(error, building.logger)
    }
    return app.fetch(request, { waitUntil: (p) => ctx.waitUntil(p) })
  },
}

async function buildApp(env: Env, logger: Logger): Promise<App> {
  const source = env.PROXY_CONFIG
    ? { kind: 'text' as const, text: env.PROXY_CONFIG }
    : resolveConfigSource({}, env)
  // No file system here: the token-file credential sources are skipped (keys or roles still work).
  const credentials = () => credentialChain({ env, fetch }).defaultCredentials('the config file')
  const text = source ? await loadConfigText(source, { env, fetch, credentials }) : EMBEDDED_CONFIG_YAML
  const config = await parseConfig(text, env)
  for (const w of config.warnings) logger.warn('config warning', { path: w.path, problem: w.message })
  const stores = await openWorkerStores(config, env, logger)
  // No `timers`: an isolate has no long-lived process to run them in (see the comment above).
  return createApp({ config, env, masterKey: configuredMasterKey(config, env), logger, stores })
}

function workerLogger(env: Env): Logger {
  return createLogger(env.LITELLM_LOG?.toUpperCase() === 'DEBUG' ? 'debug' : 'info')
}

/**
 * A config or store problem becomes an OpenAI-style 500 instead of Cloudflare's exception page; the
 * details (which setting, which store) go to the Worker's logs only, like on Lambda.
 */
function startupFailed(error: unknown, logger: Logger): Response {
  logger.error('gateway start-up failed', { error })
  return errorResponse(
    new GatewayError({
      status: 500,
      message: 'The gateway could not start (configuration or stores); see the Worker logs for details.',
      origin: 'gateway',
    }),
  )
}

/** Workers bindings mix strings with KV/D1/secrets objects; the gateway reads only the strings. */
function stringBindings(bindings: Record<string, unknown>): Env {
  // A Worker never runs on EC2: skip the instance-metadata step of the credential chain instead of
  // waiting for its timeout before reporting missing credentials.
  const env: Record<string, string> = { AWS_EC2_METADATA_DISABLED: 'true' }
  for (const [k, v] of Object.entries(bindings)) if (typeof v === 'string') env[k] = v
  return env
}
