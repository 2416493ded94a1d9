import { GatewayError } from '../errors'
import { misconfigured } from './credentials'

/**
 * Why one credential source failed, before anyone knows which deployment asked: a cached source
 * (the default chain, an STS session) is shared by every deployment that uses it, so the error names
 * the source and the problem, and `toGatewayError` adds the subject of the call that saw it.
 *
 * - `config`: the operator must change something (a refused role, a malformed endpoint, no source
 *   at all). Retrying cannot help: 500, not retryable.
 * - `unavailable`: the source did not answer, or answered with a server error or throttling
 *   (STS, IMDS, the container agent). Another attempt or deployment may work: 503.
 *
 * `problem` never contains a secret: not a key, a token, nor a token file's content.
 */
export class CredentialSourceError extends Error {
  readonly kind: 'config' | 'unavailable'
  readonly source: string
  readonly problem: string
  /** No HTTP answer at all (timeout, connection refused): for IMDS before it ever worked, "not on EC2". */
  readonly silent: boolean

  constructor(
    kind: 'config' | 'unavailable',
    source: string,
    problem: string,
    options?: { cause?: unknown; silent?: boolean },
  ) {
    super(`${source}: ${problem}`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CredentialSourceError'
    this.kind = kind
    this.source = source
    this.problem = problem
    this.silent = options?.silent ?? false
  }

  /** `subject` is what needed the credentials: `deployment claude`, `the config file`. */
  toGatewayError(subject: string): GatewayError {
    if (this.kind === 'config')
      return misconfigured(
        `AWS credentials for ${subject} could not be obtained from ${this.source}: ${this.problem}`,
      )
    return new GatewayError({
      status: 503,
      type: 'service_unavailable_error',
      message: `AWS credentials for ${subject} are unavailable: ${this.source} ${this.problem}`,
      origin: 'gateway',
      retryable: true,
      cause: this,
    })
  }
}

export const configProblem = (source: string, problem: string): CredentialSourceError =>
  new CredentialSourceError('config', source, problem)

export const unavailable = (source: string, problem: string): CredentialSourceError =>
  new CredentialSourceError('unavailable', source, problem)

/** The source gave no HTTP answer (timeout, network failure). */
export const silent = (source: string, problem: string, cause: unknown): CredentialSourceError =>
  new CredentialSourceError('unavailable', source, problem, { cause, silent: true })
