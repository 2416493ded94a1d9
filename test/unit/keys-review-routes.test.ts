import { describe, expect, it } from 'vitest'
import { isRouteAllowed } from '../../src/auth/route-access'

/** LiteLLM's `is_virtual_key_allowed_to_call_route` matching rules (finding 3). */
describe('isRouteAllowed', () => {
  it('allows everything without entries', () => {
    expect(isRouteAllowed(undefined, '/key/generate')).toBe(true)
    expect(isRouteAllowed([], '/key/generate')).toBe(true)
  })

  it('matches a path exactly or as a prefix on a segment boundary', () => {
    expect(isRouteAllowed(['/v1/models'], '/v1/models')).toBe(true)
    expect(isRouteAllowed(['/bedrock'], '/bedrock/model/x/converse')).toBe(true)
    expect(isRouteAllowed(['/v1/models'], '/v1/modelsX')).toBe(false)
    expect(isRouteAllowed(['/v1/models'], '/v1/chat/completions')).toBe(false)
  })

  it('matches `prefix*` wildcards', () => {
    expect(isRouteAllowed(['/key/*'], '/key/info')).toBe(true)
    expect(isRouteAllowed(['/key/*'], '/user/info')).toBe(false)
  })

  it('expands route groups, with {param} placeholders and pass-through prefixes', () => {
    expect(isRouteAllowed(['llm_api_routes'], '/v1/chat/completions')).toBe(true)
    expect(isRouteAllowed(['llm_api_routes'], '/openai/deployments/gpt/chat/completions')).toBe(true)
    expect(isRouteAllowed(['llm_api_routes'], '/bedrock/model/m/converse')).toBe(true)
    expect(isRouteAllowed(['llm_api_routes'], '/key/info')).toBe(false)
    expect(isRouteAllowed(['info_routes'], '/key/info')).toBe(true)
    expect(isRouteAllowed(['info_routes'], '/models')).toBe(true)
    expect(isRouteAllowed(['info_routes'], '/chat/completions')).toBe(false)
    expect(isRouteAllowed(['management_routes'], '/key/abc/regenerate')).toBe(true)
    expect(isRouteAllowed(['management_routes'], '/team/new')).toBe(true)
    expect(isRouteAllowed(['management_routes'], '/v1/chat/completions')).toBe(false)
    // A group name is not a path prefix, and unknown names match nothing.
    expect(isRouteAllowed(['constructor'], '/v1/chat/completions')).toBe(false)
  })
})
