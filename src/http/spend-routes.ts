import type { IttyRouterType } from 'itty-router'
import type { Gateway } from './context'

/** /spend/logs, /global/spend, /global/spend/report (master key only). */
export function registerSpendRoutes(_router: IttyRouterType, _gw: Gateway): void {}
