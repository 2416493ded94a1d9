import { parseDocument, type ScalarTag, type Tags, type YAMLError } from 'yaml'
import type { Env } from '../env'
import type { Deployment, LitellmParams, ModelInfo } from '../providers/types'
import { ConfigError, type ConfigIssue, childPath, formatPath } from './config-error'
import { deploymentId } from './deployment-id'
import { collectEnvRefs, isEnvRef, isPlainObject } from './env-refs'
import {
  configSchema,
  describeValue,
  environmentVariablesSchema,
  issueMessage,
  type ModelEntry,
  unknownKeyWarnings,
} from './schema'
import type { ConfigWarning, GatewayConfig } from './types'

/**
 * Loads a LiteLLM `proxy_config.yaml` unchanged: validates it, resolves `os.environ/` references and
 * turns `model_list` into deployments with LiteLLM-compatible ids. Every problem is reported at once
 * in a ConfigError; things LiteLLM would silently ignore become `warnings`.
 */
export async function parseConfig(yamlText: string, env: Env): Promise<GatewayConfig> {
  const { value: raw, warnings } = readYaml(yamlText)
  if (raw === null || raw === undefined) return emptyConfig([...warnings, noModelsWarning()])
  if (!isPlainObject(raw)) {
    throw new ConfigError([
      { path: '', message: `the config must be a YAML mapping, got ${describeValue(raw)}` },
    ])
  }
  warnings.push(...unknownKeyWarnings(raw))

  const { resolved, issues } = resolveReferences(raw, env)
  const checked = configSchema.safeParse(dropNulls(resolved), {
    error: (issue) => issueMessage(issue, (value) => describeAt(raw, issue.path ?? [], value)),
  })
  if (!checked.success) {
    const refPaths = new Set(issues.map((issue) => issue.path))
    for (const issue of checked.error.issues) {
      const path = formatPath(issue.path)
      // A missing variable already explains why its value has the wrong type.
      if (!refPaths.has(path)) issues.push({ path, message: issue.message })
    }
  }
  if (issues.length > 0 || !checked.success) throw new ConfigError(issues)

  const config = checked.data
  const entries = config.model_list ?? []
  if (entries.length === 0) warnings.push(noModelsWarning())
  const rawEntries = Array.isArray(resolved.model_list) ? resolved.model_list : []
  const deployments = await buildDeployments(entries, rawEntries, warnings)
  return {
    deployments,
    litellmSettings: config.litellm_settings ?? {},
    routerSettings: config.router_settings ?? {},
    generalSettings: config.general_settings ?? {},
    environmentVariables: config.environment_variables ?? {},
    warnings,
  }
}

/**
 * Reads YAML the way LiteLLM's PyYAML `safe_load` does: YAML 1.1, so merge keys (`<<: *defaults`) and
 * yes/no booleans work, with PyYAML's scalar rules (see pyyamlTags).
 */
function readYaml(yamlText: string): { value: unknown; warnings: ConfigWarning[] } {
  const doc = parseDocument(yamlText, { prettyErrors: true, version: '1.1', customTags: pyyamlTags })
  const warnings: ConfigWarning[] = doc.warnings.map((warning) => yamlWarning(warning))
  const errors: ConfigIssue[] = []
  for (const error of doc.errors) {
    // PyYAML keeps the last of duplicate keys, so such a file works with LiteLLM; load it the same way.
    if (error.code === 'DUPLICATE_KEY') warnings.push(yamlWarning(error, '; the last one wins'))
    else errors.push({ path: '', message: `YAML syntax error: ${error.message.trimEnd()}` })
  }
  if (errors.length > 0) throw new ConfigError(errors)
  return { value: doc.toJS(), warnings }
}

const TIMESTAMP_TAG = 'tag:yaml.org,2002:timestamp'
const FLOAT_TAG = 'tag:yaml.org,2002:float'
/** PyYAML's exponent float: a fraction dot and a signed exponent (`1.0e-06`); `3e-06` is a string. */
const PYYAML_EXP_FLOAT = /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)[eE][-+][0-9]+$/

/**
 * Two differences between the yaml package's 1.1 schema and PyYAML. Timestamps stay strings: a date
 * such as `api_version: 2024-02-01` would otherwise become a Date, and Python's `str(date)` is that
 * same text anyway. Exponent floats follow PyYAML, so values (and deployment hashes) match LiteLLM.
 */
function pyyamlTags(tags: Tags): Tags {
  return tags
    .filter((tag) => typeof tag === 'string' || tag.tag !== TIMESTAMP_TAG)
    .map((tag) => (isExponentFloat(tag) ? { ...tag, test: PYYAML_EXP_FLOAT } : tag))
}

const isExponentFloat = (tag: Tags[number]): tag is ScalarTag =>
  typeof tag !== 'string' && tag.collection === undefined && tag.tag === FLOAT_TAG && tag.format === 'EXP'

/**
 * LiteLLM exports `environment_variables` into os.environ before reading the rest of the config, so
 * they are resolved first (against the real environment) and then override it for every other section.
 */
function resolveReferences(raw: Record<string, unknown>, env: Env) {
  const { environment_variables: rawVariables, ...rest } = raw
  const variables = collectEnvRefs(rawVariables, env, 'environment_variables')
  const exported = environmentVariablesSchema.safeParse(variables.value)
  const merged: Env = exported.success ? { ...env, ...exported.data } : env
  const others = collectEnvRefs(rest, merged, '')
  const base = isPlainObject(others.value) ? others.value : {}
  const resolved: Record<string, unknown> = { ...base, environment_variables: variables.value }
  return { resolved, issues: [...variables.issues, ...others.issues] }
}

async function buildDeployments(
  entries: ModelEntry[],
  rawEntries: unknown[],
  warnings: ConfigWarning[],
): Promise<Deployment[]> {
  const deployments: Deployment[] = []
  const issues: ConfigIssue[] = []
  const seen = new Map<string, number>()
  for (const [index, entry] of entries.entries()) {
    const rawParams = rawLitellmParams(rawEntries[index])
    const deployment = await toDeployment(entry, rawParams)
    const path = childPath('model_list', index)
    const previous = seen.get(deployment.id)
    if (previous === undefined) {
      seen.set(deployment.id, index)
      deployments.push(deployment)
    } else if (entry.model_info?.id !== undefined) {
      const where = `${path}.model_info.id`
      issues.push({
        path: where,
        message: `duplicate id "${deployment.id}", already used by model_list[${previous}]`,
      })
    } else {
      // Same group and identical params hash to the same id; a second copy would only skew weights.
      warnings.push({ path, message: `identical to model_list[${previous}] (same deployment id), ignored` })
    }
  }
  if (issues.length > 0) throw new ConfigError(issues)
  return deployments
}

async function toDeployment(entry: ModelEntry, rawParams: Record<string, unknown>): Promise<Deployment> {
  const params: LitellmParams = { ...entry.litellm_params }
  // LiteLLM also accepts rpm/tpm beside litellm_params; routing reads them from params.
  if (params.rpm === undefined && entry.rpm !== undefined) params.rpm = entry.rpm
  if (params.tpm === undefined && entry.tpm !== undefined) params.tpm = entry.tpm
  // The Router hashes litellm_params exactly as loaded (after os.environ/ resolution, before any casts).
  const id = await deploymentId(entry.model_name, rawParams, entry.model_info)
  const modelInfo: ModelInfo = { ...entry.model_info, id }
  return { id, modelName: entry.model_name, ...splitModel(params.model), params, modelInfo }
}

/** `bedrock/anthropic.claude…` → bedrock + the rest; no prefix means OpenAI, as in LiteLLM. */
export function splitModel(model: string): { provider: string; providerModel: string } {
  const slash = model.indexOf('/')
  if (slash === -1) return { provider: 'openai', providerModel: model }
  return { provider: model.slice(0, slash), providerModel: model.slice(slash + 1) }
}

function rawLitellmParams(rawEntry: unknown): Record<string, unknown> {
  const params = isPlainObject(rawEntry) ? rawEntry.litellm_params : undefined
  return isPlainObject(params) ? params : {}
}

/** Values that came from `os.environ/` are not echoed: they are often secrets. */
function describeAt(raw: unknown, path: readonly PropertyKey[], value: unknown): string {
  let node = raw
  for (const segment of path) {
    if (Array.isArray(node)) node = node[Number(segment)]
    else node = isPlainObject(node) ? node[String(segment)] : undefined
  }
  return isEnvRef(node) ? `the value of ${node}` : describeValue(value)
}

/** `key: ` with no value is YAML null; LiteLLM then uses the default, so treat it as absent. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls)
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value)) if (item !== null) out[key] = dropNulls(item)
  return out
}

/** `line 3, column 1: Map keys must be unique` (the code frame of prettyErrors is for fatal errors only). */
function yamlWarning(problem: YAMLError, suffix = ''): ConfigWarning {
  const position = problem.linePos?.[0]
  const message = (problem.message.split(' at line ')[0] ?? problem.message) + suffix
  return { path: position ? `line ${position.line}, column ${position.col}` : '', message }
}

const noModelsWarning = (): ConfigWarning => ({
  path: 'model_list',
  message: 'missing or empty: no models are configured',
})

function emptyConfig(warnings: ConfigWarning[]): GatewayConfig {
  return {
    deployments: [],
    litellmSettings: {},
    routerSettings: {},
    generalSettings: {},
    environmentVariables: {},
    warnings,
  }
}
