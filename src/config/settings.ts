import type { GatewayConfig } from './types'

/**
 * A setting LiteLLM's Router reads from either section (`num_retries`, `fallbacks`, `allowed_fails` …).
 * The Router takes its constructor argument (router_settings) first and falls back to the
 * `litellm.<key>` module value set from litellm_settings, so router_settings wins.
 */
export function routerSetting(
  config: Pick<GatewayConfig, 'routerSettings' | 'litellmSettings'>,
  key: string,
): unknown {
  return config.routerSettings[key] ?? config.litellmSettings[key]
}
