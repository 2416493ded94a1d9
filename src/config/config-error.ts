/** One problem found while loading a config, located by its YAML path. */
export interface ConfigIssue {
  /** YAML path such as `model_list[1].litellm_params.model`; empty for the document itself. */
  path: string
  message: string
}

/**
 * A config that cannot be loaded. It lists every problem found, one `path: problem` per line, so an
 * operator fixes the file in one pass instead of one restart per mistake (LiteLLM stops at the first).
 */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[]

  constructor(issues: ConfigIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatIssue).join('\n'), options)
    this.name = 'ConfigError'
    this.issues = issues
  }
}

export const formatIssue = (issue: ConfigIssue): string =>
  issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`

/** Builds a YAML path the way the messages print it: `a.b[0].c`. */
export function childPath(parent: string, segment: PropertyKey): string {
  if (typeof segment === 'number') return `${parent}[${segment}]`
  const key = String(segment)
  return parent === '' ? key : `${parent}.${key}`
}

export const formatPath = (segments: readonly PropertyKey[]): string => segments.reduce(childPath, '')
