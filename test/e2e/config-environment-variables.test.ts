import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../../src/app'
import { parseConfig } from '../../src/config/parse'
import { silentLogger } from '../../src/observability/logger'
import { type FakeBedrock, startFakeBedrock } from '../fakes/bedrock'

/**
 * LiteLLM exports `environment_variables` into the process environment, so a deployment with no
 * credentials or region of its own picks them up from there. The in-process app runs against the
 * SigV4-verifying fake, with an empty runtime environment.
 */
let fake: FakeBedrock
beforeAll(async () => {
  fake = await startFakeBedrock({ region: 'eu-west-1' })
})
afterAll(() => fake.close())

it('providers see the config environment_variables (credentials, region, endpoint)', async () => {
  const config = await parseConfig(
    `
model_list:
  - model_name: bare
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
environment_variables:
  AWS_ACCESS_KEY_ID: ${fake.credentials.accessKeyId}
  AWS_SECRET_ACCESS_KEY: ${fake.credentials.secretAccessKey}
  AWS_REGION_NAME: eu-west-1
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: ${fake.url}
`,
    {},
  )
  const app = createApp({ config, env: {}, masterKey: 'sk-m', logger: silentLogger })
  const res = await app.fetch(
    new Request('http://gw/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: 'Bearer sk-m', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bare', messages: [{ role: 'user', content: 'hello' }] }),
    }),
  )
  expect(res.status).toBe(200)
  expect(
    ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content,
  ).toBe('You said: hello')
  expect(fake.requests[0]).toMatchObject({ region: 'eu-west-1', auth: { ok: true } })
  expect(res.headers.get('x-litellm-model-api-base')).toBe(fake.url)
})
