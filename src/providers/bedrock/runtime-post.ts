import { signedFetch } from '../../aws/signed-fetch'
import { GatewayError } from '../../errors'
import type { ProviderCall } from '../types'
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
 * Why a connection failed, without its message: runtimes put URLs, headers or whatever a proxy said
 * into network error messages, and those reach the client. Only an errno-style code
 * (`ECONNREFUSED`, from Node's `cause`) or the error's class name is kept.
 */
export function networkReason(error: unknown): string {
  const codeOf = (value: unknown): string | undefined => {
    const code = typeof value === 'object' && value !== null && 'code' in value ? value.code : undefined
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : undefined
  }
  const name =
    error instanceof Error && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(error.name) ? error.name : undefined
  return codeOf(error instanceof Error ? error.cause : undefined) ?? codeOf(error) ?? name ?? 'network error'
}

/** `redirect: 'manual'` gives a 3xx on servers/Node and an opaque (status 0) response in browsers. */
const isRedirect = (response: Response): boolean =>
  response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)

/**
 * POSTs a SigV4-signed JSON body to `/model/{modelId}/{operation}` and returns the 2xx response;
 * anything else throws a GatewayError. Shared by Converse, Invoke and the embedding calls, so every
 * route has the same endpoint, credential, redirect and error handling.
 */
export async function postToBedrock(
  call: ProviderCall,
  modelId: string,
  operation: RuntimeOperation,
  body: string,
): Promise<Response> {
  const { deployment, env } = call
  const region = bedrockRegion(deployment.params, modelId, env)
  const base = bedrockRuntimeBase(deployment.params, env, region)
  const credentials = await call.aws.credentials(deployment.params, deployment.modelName)
  let response: Response
  try {
    response = await signedFetch(
      {
        url: `${base}/model/${encodeModelId(modelId)}/${operation}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...HEADERS[operation] },
        body,
        credentials,
        service: SIGNING_SERVICE,
        region,
        signal: call.signal,
      },
      call.fetch,
    )
  } catch (error) {
    // An abort is the caller's decision (client gone, timeout): let it through untouched.
    if (call.signal.aborted) throw error
    throw new GatewayError({
      status: 502,
      message: `litellm.APIConnectionError: BedrockException - could not reach ${new URL(base).host} (${networkReason(error)}).`,
      origin: 'upstream',
      retryable: true,
      cause: error,
    })
  }
  if (isRedirect(response)) {
    await response.body?.cancel().catch(() => undefined)
    // Not followed (signedFetch): the signed headers must not travel to another host. Bedrock never
    // redirects, so this is a misconfigured endpoint or a proxy in the way; another deployment may work.
    throw new GatewayError({
      status: 502,
      message: `litellm.BadGatewayError: BedrockException - ${new URL(base).host} answered with a redirect${
        response.status > 0 ? ` (HTTP ${response.status})` : ''
      }; redirects are not followed for signed AWS requests. Check aws_bedrock_runtime_endpoint / api_base.`,
      origin: 'upstream',
      retryable: true,
    })
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '')
    throw bedrockError(response.status, response.headers, text)
  }
  return response
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
