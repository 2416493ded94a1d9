import type { Deployment } from '../providers/types'

/** A problem in the config that did not stop loading (unknown key, deprecated spelling …). */
export interface ConfigWarning {
  /** YAML path, e.g. `model_list[2].litellm_params.aws_regon_name`. */
  path: string
  message: string
}

export interface GeneralSettings {
  master_key?: string
  database_url?: string
  proxy_batch_write_at?: number
  max_request_size_mb?: number
  [key: string]: unknown
}

/** A LiteLLM `proxy_config.yaml`, validated and resolved (`os.environ/` references replaced). */
export interface GatewayConfig {
  deployments: Deployment[]
  litellmSettings: Record<string, unknown>
  routerSettings: Record<string, unknown>
  generalSettings: GeneralSettings
  /** The `environment_variables` section; they are visible to `os.environ/` references. */
  environmentVariables: Record<string, string>
  warnings: ConfigWarning[]
}
