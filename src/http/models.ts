import { mayCallModel } from '../keys/authorize-call'
import type { Gateway } from './context'

/**
 * GET /v1/models and /models. LiteLLM reports every model group with a fixed `created` and
 * `owned_by: "openai"`, which is what OpenAI SDK model pickers expect. A virtual key sees only the
 * groups it may call (its own, its team's and, for a personal key, its user's `models`).
 */
export async function listModels(request: Request, gw: Gateway): Promise<Response> {
  const caller = await gw.authenticate(request)
  const key = caller.isMaster ? undefined : caller.key
  const data = gw.groups
    .names()
    .filter((group) => !key || mayCallModel(key, group))
    .map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' }))
  return Response.json({ object: 'list', data })
}
