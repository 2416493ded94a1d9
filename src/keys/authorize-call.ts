import type { Gateway } from '../http/context'
import type { Caller } from './virtual-key'

/**
 * Whether this caller may call this model group now: model access (key, team), expiry, blocked,
 * budgets (key, user, team, per model). Throws the GatewayError LiteLLM would answer with.
 */
export async function authorizeCall(_caller: Caller, _modelGroup: string, _gw: Gateway): Promise<void> {}
