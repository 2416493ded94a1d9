import type { IttyRouterType } from 'itty-router'
import type { Gateway } from './context'

/** /key/*, /user/*, /team/*: LiteLLM's management API (master key only, a key may read itself). */
export function registerManagementRoutes(_router: IttyRouterType, _gw: Gateway): void {}
