import { VERSION } from '../version'

/** Unauthenticated probes for load balancers (ALB, ECS, Kubernetes), with LiteLLM's paths and bodies. */
export const liveness = (): Response => Response.json("I'm alive!")

export const readiness = (): Response =>
  Response.json({
    status: 'healthy',
    db: 'Not connected',
    cache: null,
    litellm_version: VERSION,
    last_updated: new Date().toISOString(),
  })
