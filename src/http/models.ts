import type { Gateway } from './context'

/**
 * GET /v1/models and /models. LiteLLM reports every model group with a fixed `created` and
 * `owned_by: "openai"`, which is what OpenAI SDK model pickers expect.
 */
export async function listModels(request: Request, gw: Gateway): Promise<Response> {
  await gw.authenticate(request)
  const data = gw.groups
    .names()
    .map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' }))
  return Response.json({ object: 'list', data })
}
