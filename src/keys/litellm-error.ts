import { type ErrorBody, GatewayError } from '../errors'

/**
 * A GatewayError whose wire `type` is one of LiteLLM's `ProxyErrorTypes` that the gateway-wide
 * ErrorType union does not list (`db_not_connected_error`, `team_model_access_denied`,
 * `bad_request_error` …). Clients match on these strings, so they are sent verbatim.
 */
export class LiteLLMError extends GatewayError {
  readonly wireType: string

  constructor(init: { status: number; message: string; type: string; param?: string | null }) {
    super({ status: init.status, message: init.message, param: init.param ?? null, origin: 'client' })
    this.wireType = init.type
  }

  override toJSON(): ErrorBody {
    return { error: { message: this.message, type: this.wireType, param: this.param, code: this.code } }
  }
}

/** LiteLLM's answer on every management route when the proxy runs without a database. */
export const dbNotConnected = () =>
  new LiteLLMError({ status: 500, message: 'No connected db.', type: 'db_not_connected_error' })

/** 404 in LiteLLM's ProxyException shape (`not_found_error`, param names what was looked up). */
export const notFound = (message: string, param: string) =>
  new LiteLLMError({ status: 404, message, type: 'not_found_error', param })

/** 400 for a request LiteLLM rejects after validation (`bad_request_error`). */
export const badRequestError = (message: string, param: string | null = null) =>
  new LiteLLMError({ status: 400, message, type: 'bad_request_error', param })
