import type { Logger } from '../../observability/logger'
import type { ChatRequest } from '../../openai/chat-request'
import type { LitellmParams } from '../types'
import { effectiveGuardrail } from './converse-passthrough'

/**
 * InvokeModel and InvokeModelWithResponseStream take a guardrail as request headers, not in the
 * body (protocols.md 1.7): `X-Amzn-Bedrock-GuardrailIdentifier`, `X-Amzn-Bedrock-GuardrailVersion`
 * and `X-Amzn-Bedrock-Trace` (`ENABLED`, `DISABLED`, `ENABLED_FULL`; Converse spells the same values
 * in lower case). The guardrail is the one Converse would use (the deployment's wins over the
 * client's), so switching a deployment to the Invoke route cannot switch its guardrail off. The
 * headers go through signedFetch with the others and are covered by the SigV4 signature.
 */
export function invokeGuardrailHeaders(
  req: ChatRequest,
  params: LitellmParams,
  logger?: Pick<Logger, 'debug'>,
): Record<string, string> {
  const guardrail = effectiveGuardrail(req, params, logger)
  if (guardrail === undefined) return {}
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : undefined
  const headers: Record<string, string> = {}
  const id = text(guardrail.guardrailIdentifier)
  const version = text(guardrail.guardrailVersion)
  const trace = text(guardrail.trace)
  if (id !== undefined) headers['x-amzn-bedrock-guardrailidentifier'] = id
  if (version !== undefined) headers['x-amzn-bedrock-guardrailversion'] = version
  if (trace !== undefined) headers['x-amzn-bedrock-trace'] = trace.toUpperCase()
  return headers
}
