import { GatewayError } from '../../errors'
import type { ChatProvider } from '../types'

const notYet = (): never => {
  throw new GatewayError({
    status: 400,
    message: 'OpenAI-compatible deployments are not supported by this gateway yet.',
    param: 'model',
    origin: 'gateway',
    retryable: false,
  })
}

/** `openai/…`, `hosted_vllm/…` and other OpenAI-compatible upstreams (`api_base` + `api_key`). */
export const openaiCompatibleProvider: ChatProvider = { complete: notYet, stream: notYet }
