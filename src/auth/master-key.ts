import type { GatewayConfig } from '../config/types'
import type { Env } from '../env'

/** `general_settings.master_key` wins over `LITELLM_MASTER_KEY`, as in LiteLLM. */
export function configuredMasterKey(config: GatewayConfig, env: Env): string | undefined {
  const fromConfig = config.generalSettings.master_key
  if (typeof fromConfig === 'string' && fromConfig !== '') return fromConfig
  return env.LITELLM_MASTER_KEY || undefined
}

/** `sk-...abcd`: enough to tell keys apart in an error, never enough to use one. */
export function maskKey(key: string): string {
  return key.length <= 8 ? '***' : `${key.slice(0, 3)}...${key.slice(-4)}`
}
