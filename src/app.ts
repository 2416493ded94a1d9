import { IttyRouter } from 'itty-router'
import { createAuthenticator } from './auth/authenticate'
import type { AwsAccess } from './aws/aws-access'
import { credentialChain } from './aws/credential-chain'
import type { GatewayConfig } from './config/types'
import type { Env } from './env'
import { errorResponse, GatewayError, toGatewayError } from './errors'
import { chatCompletions } from './http/chat-completions'
import type { Gateway, RequestContext } from './http/context'
import { embeddings, pathParam } from './http/embeddings'
import { liveness, readiness } from './http/health'
import { registerManagementRoutes } from './http/management-routes'
import { listModels } from './http/models'
import { registerSpendRoutes } from './http/spend-routes'
import { createKeyService } from './keys/key-service'
import { createLogger, type Logger } from './observability/logger'
import { abortableSleep } from './router/abortable-sleep'
import { createDeploymentRouter } from './router/create-deployment-router'
import { ModelGroups } from './router/model-groups'
import { reliabilitySettings } from './router/reliability-settings'
import { createSpendService } from './spend/spend-service'
import type { Stores } from './store/stores'
import type { Timers } from './timers'

export interface AppDeps {
  config: GatewayConfig
  env: Env
  /** Resolved by the adapter (config, env, or generated on first start); absent = refuse all calls. */
  masterKey: string | undefined
  fetch?: typeof fetch
  logger?: Logger
  /** Monotonic ms for durations. */
  now?: () => number
  /** Wall-clock ms for expiry, budgets and timestamps. */
  clock?: () => number
  random?: () => number
  /** Postgres + shared counters, opened (and migrated) by the adapter. */
  stores?: Stores
  /** Periodic background work, where the runtime has a long-lived process. */
  timers?: Timers
  /** Waits between retries (default: a timer). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /**
   * AWS credentials source; default: the credential chain (litellm_params keys, roles, web identity,
   * then the environment, token file, container endpoint and instance metadata), using `fetch`,
   * `clock` and `readFile`.
   */
  aws?: AwsAccess
  /** Reads a file (web identity and container token files); Node and Lambda inject it, Workers cannot. */
  readFile?: (path: string) => Promise<string>
}

export interface App {
  fetch(request: Request, context?: RequestContext): Promise<Response>
  /** Stops background work and writes queued spend; adapters call it on shutdown. */
  close(): Promise<void>
}

const DEFAULT_MAX_BODY_MB = 16
const DEFAULT_TIMEOUT_SECONDS = 600

/** The portable gateway: web-standard Request in, Response out, on every runtime. */
export function createApp(deps: AppDeps): App {
  const gw = buildGateway(deps)
  const router = IttyRouter()
  router
    .post('/v1/chat/completions', (req, ctx: RequestContext) => chatCompletions(req, gw, ctx))
    .post('/chat/completions', (req, ctx: RequestContext) => chatCompletions(req, gw, ctx))
    .post('/v1/embeddings', (req, ctx: RequestContext) => embeddings(req, gw, ctx))
    .post('/embeddings', (req, ctx: RequestContext) => embeddings(req, gw, ctx))
    .post('/openai/deployments/:model/embeddings', (req, ctx: RequestContext) =>
      embeddings(req, gw, ctx, pathParam(req.params.model)),
    )
    .post('/engines/:model/embeddings', (req, ctx: RequestContext) =>
      embeddings(req, gw, ctx, pathParam(req.params.model)),
    )
    .get('/v1/models', (req) => listModels(req, gw))
    .get('/models', (req) => listModels(req, gw))
    .get('/health/liveliness', liveness)
    .get('/health/liveness', liveness)
    .get('/health/readiness', () => readiness(gw))
  registerManagementRoutes(router, gw)
  registerSpendRoutes(router, gw)

  return {
    async fetch(request, context) {
      try {
        const response: Response | undefined = await router.fetch(request, context ?? {})
        return response ?? errorResponse(notFound(request))
      } catch (error) {
        const gatewayError = toGatewayError(error)
        if (gatewayError.status >= 500)
          gw.logger.error('request failed', { path: new URL(request.url).pathname, error })
        return errorResponse(gatewayError)
      }
    },
    async close() {
      gw.keys?.close()
      await gw.spend.close()
    },
  }
}

function buildGateway(deps: AppDeps): Gateway {
  const { config } = deps
  const logger = deps.logger ?? createLogger('info')
  const clock = deps.clock ?? Date.now
  const keys = deps.stores
    ? createKeyService({ stores: deps.stores, logger, timers: deps.timers, clock })
    : undefined
  const maxMb = numberSetting(config.generalSettings.max_request_size_mb) ?? DEFAULT_MAX_BODY_MB
  const timeout =
    numberSetting(config.routerSettings.timeout) ??
    numberSetting(config.litellmSettings.request_timeout) ??
    DEFAULT_TIMEOUT_SECONDS
  const env = withConfigEnv(deps.env, config.environmentVariables)
  return {
    config,
    env,
    aws: deps.aws ?? defaultAwsAccess(deps, env, clock, logger),
    groups: new ModelGroups(config.deployments),
    router: createDeploymentRouter({
      config,
      counters: deps.stores?.counters,
      clock,
      random: deps.random ?? Math.random,
      logger,
    }),
    reliability: reliabilitySettings(config),
    sleep: deps.sleep ?? abortableSleep,
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    logger,
    now: deps.now ?? (() => performance.now()),
    random: deps.random ?? Math.random,
    maxBodyBytes: Math.floor(maxMb * 1024 * 1024),
    defaultTimeoutSeconds: timeout,
    authenticate: createAuthenticator(deps.masterKey, keys, clock),
    clock,
    stores: deps.stores,
    keys,
    spend: createSpendService({ stores: deps.stores, config, logger, timers: deps.timers, clock, keys }),
  }
}

/** The credential chain over the gateway's own fetch, clock and (where the runtime has one) file reader. */
function defaultAwsAccess(deps: AppDeps, env: Env, clock: () => number, logger: Logger): AwsAccess {
  const gatewayFetch: typeof fetch = deps.fetch ?? ((input, init) => fetch(input, init))
  return credentialChain({
    env,
    fetch: gatewayFetch,
    clock,
    logger,
    ...(deps.readFile ? { readFile: deps.readFile } : {}),
  })
}

/**
 * LiteLLM exports the config's `environment_variables` into the process environment, so providers
 * see them (e.g. AWS_REGION_NAME or AWS credentials set there). A read-through view, not a copy:
 * the runtime's own environment stays live (credentials a runtime rotates are seen at once).
 */
function withConfigEnv(env: Env, fromConfig: Record<string, string>): Env {
  if (Object.keys(fromConfig).length === 0) return env
  return new Proxy(env, {
    get: (target, name) =>
      typeof name === 'string' && name in fromConfig ? fromConfig[name] : Reflect.get(target, name),
    has: (target, name) => name in fromConfig || Reflect.has(target, name),
  })
}

const notFound = (request: Request) =>
  new GatewayError({
    status: 404,
    message: `Route not found: ${request.method} ${new URL(request.url).pathname}`,
    origin: 'client',
  })

function numberSetting(value: unknown): number | undefined {
  return typeof value === 'number' && value > 0 ? value : undefined
}
