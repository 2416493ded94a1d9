import { limitsDegraded } from '../limits/limiter'
import { VERSION } from '../version'
import type { Gateway } from './context'

/** Unauthenticated probes for load balancers (ALB, ECS, Kubernetes), with LiteLLM's paths and bodies. */
export const liveness = (): Response => Response.json("I'm alive!")

/**
 * LiteLLM's readiness body, plus where routing state lives and whether it is degraded to
 * per-instance state (the counter store is unreachable): the gateway keeps serving then, so this is
 * reported, not turned into a failing probe that would take every instance out at once.
 */
export const readiness = (gw: Gateway): Response =>
  Response.json({
    status: 'healthy',
    db: gw.stores ? 'connected' : 'Not connected',
    cache: gw.stores?.counters.kind ?? null,
    routing_state: gw.router.health?.() ?? null,
    rate_limits: { degraded: limitsDegraded(gw.stores?.counters) },
    litellm_version: VERSION,
    last_updated: new Date().toISOString(),
  })
