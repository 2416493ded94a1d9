import type { z } from 'zod'
import { GatewayError } from '../errors'

/**
 * Validates a parsed body with a zod schema; the first issue becomes a 400 whose `param` is the
 * dotted path of the bad member (`messages.0.role`), as OpenAI does.
 */
export function validate<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new GatewayError({ status: 400, message: 'Request body must be a JSON object.', origin: 'client' })
  }
  const result = schema.safeParse(body)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const param = issue ? issue.path.map(String).join('.') : null
  const detail = issue ? issue.message : 'invalid request'
  throw new GatewayError({
    status: 400,
    message: param ? `Invalid value for '${param}': ${detail}` : `Invalid request: ${detail}`,
    param,
    origin: 'client',
  })
}
