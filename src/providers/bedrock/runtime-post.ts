import { signedFetch } from '../../aws/signed-fetch'
import { GatewayError } from '../../errors'
import type { ProviderCall } from '../types'
import { connectionFailures, sendUpstream } from '../upstream-response'
import { bedrockRegion, bedrockRuntimeBase, encodeModelId } from './endpoint'
import { bedrockError } from './errors'

/** Bedrock Runtime signs as `bedrock`, whatever the host name says. */
const SIGNING_SERVICE = 'bedrock'

/** The Bedrock Runtime operations the gateway calls (protocols.md 1.2). */
export type RuntimeOperation = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream'

/**
 * Request headers per operation. InvokeModelWithResponseStream names the MIME type of the chunks in
 * `X-Amzn-Bedrock-Accept` (its `Accept` is the event stream itself); InvokeModel in `Accept`.
 */
const HEADERS: Record<RuntimeOperation, Record<string, string>> = {
  converse: { accept: 'application/json' },
  'converse-stream': { accept: 'application/vnd.amazon.eventstream' },
  invoke: { accept: 'application/json' },
  'invoke-with-response-stream': {
    accept: 'application/vnd.amazon.eventstream',
    'x-amzn-bedrock-accept': 'application/json',
  },
}

/**
 * POSTs a SigV4-signed JSON body to `/model/{modelId}/{operation}` and returns the 2xx response;
 * anything else throws a GatewayError. Shared by Converse, Invoke and the embedding calls, so every
 * route has the same endpoint, credential, redirect and error handling. `extraHeaders` (Invoke's
 * guardrail headers) are signed like the others: Bedrock must see what the gateway sent.
 */
export async function postToBedrock(
  call: ProviderCall,
  modelId: string,
  operation: RuntimeOperation,
  body: string,
  extraHeaders: Record<string, string> = {},
): Promise<Response> {
  const { deployment, env } = call
  const region = bedrockRegion(deployment.params, modelId, env)
  const base = bedrockRuntimeBase(deployment.params, env, region)
  const credentials = await call.aws.credentials(deployment.params, deployment.modelName)
  const host = new URL(base).host
  const send = () =>
    signedFetch(
      {
        url: `${base}/model/${encodeModelId(modelId)}/${operation}`,
        method: 'POST',
        headers: { ...extraHeaders, 'content-type': 'application/json', ...HEADERS[operation] },
        body,
        credentials,
        service: SIGNING_SERVICE,
        region,
        signal: call.signal,
      },
      call.fetch,
    )
  return sendUpstream(send, call.signal, {
    // Redirects are not followed (signedFetch): the signed headers must not travel to another host.
    // Bedrock never redirects, so this is a misconfigured endpoint or a proxy in the way.
    ...connectionFailures({
      who: () => 'BedrockException',
      host,
      redirectAdvice:
        'redirects are not followed for signed AWS requests. Check aws_bedrock_runtime_endpoint / api_base.',
    }),
    failed: bedrockError,
  })
}

/** The JSON body of a 2xx answer; a body that is not JSON is the upstream's fault (502). */
export async function readBedrockJson<T>(response: Response, what: string): Promise<T> {
  try {
    return (await response.json()) as T
  } catch (error) {
    throw new GatewayError({
      status: 502,
      message: `litellm.BadGatewayError: BedrockException - the ${what} response is not valid JSON.`,
      origin: 'upstream',
      cause: error,
    })
  }
}

/** The event-stream body of a streaming answer. */
export function streamBody(response: Response, what: string): ReadableStream<Uint8Array> {
  if (response.body) return response.body
  throw new GatewayError({
    status: 502,
    message: `litellm.BadGatewayError: BedrockException - ${what} answered without a body.`,
    origin: 'upstream',
  })
}
