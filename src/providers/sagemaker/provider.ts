import { GatewayError } from '../../errors'
import type { ChatProvider } from '../types'

const notYet = (): never => {
  throw new GatewayError({
    status: 400,
    message: 'SageMaker deployments are not supported by this gateway yet.',
    param: 'model',
    origin: 'gateway',
    retryable: false,
  })
}

/** `sagemaker/<endpoint>`: TGI / JumpStart text-generation containers. */
export const sagemakerProvider: ChatProvider = { complete: notYet, stream: notYet }

/** `sagemaker_chat/<endpoint>`: messages-API containers (TGI Messages, LMI/vLLM). */
export const sagemakerChatProvider: ChatProvider = { complete: notYet, stream: notYet }
