import { execFile, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse, type Tags } from 'yaml'

/**
 * The CloudFormation templates must pass cfn-lint (exit code 0: no errors, warnings or notices) and
 * keep the facts the gateway depends on. cfn-lint is a Python tool: when it is missing the lint
 * tests do not run, unless REQUIRE_SERVICES is set (CI), where a missing cfn-lint is a failure.
 */

const DIR = 'cloudformation'
const templates = readdirSync(DIR)
  .filter((name) => /\.ya?ml$/.test(name))
  .sort()

const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' })
const hasCfnLint = probe.error === undefined && probe.status === 0
const requireServices = Boolean(process.env.REQUIRE_SERVICES)

describe('cfn-lint', () => {
  it('reports whether cfn-lint ran', () => {
    expect(templates).toEqual(expect.arrayContaining(['ecs.yaml', 'lambda.yaml']))
    if (hasCfnLint) {
      expect(`${probe.stdout}${probe.stderr}`).toMatch(/cfn-lint \d+\.\d+/)
      return
    }
    console.warn('cfn-lint is not on PATH: CloudFormation lint tests skipped (pip install cfn-lint)')
    // Skipping is only acceptable when the run does not require external tools.
    expect(requireServices, 'REQUIRE_SERVICES is set, so cfn-lint must be on PATH').toBe(false)
  })

  for (const name of templates) {
    it.runIf(hasCfnLint || requireServices)(
      `${name} passes cfn-lint`,
      async () => {
        if (!hasCfnLint)
          throw new Error(
            'REQUIRE_SERVICES is set but cfn-lint is not on PATH: install it (pip install cfn-lint)',
          )
        const result = await promisify(execFile)('cfn-lint', ['--', join(DIR, name)], {
          encoding: 'utf8',
        }).then(
          ({ stdout, stderr }) => ({ code: 0, output: `${stdout}${stderr}` }),
          (error: { code?: unknown; stdout?: string; stderr?: string }) => ({
            code: error.code,
            output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
          }),
        )
        expect(result, result.output).toEqual({ code: 0, output: '' })
      },
      60_000,
    )
  }
})

/** CloudFormation short-form intrinsics (`!Ref X`, `!Sub [...]`, `!GetAtt A.B` …) as long-form objects. */
const INTRINSICS = [
  'And',
  'Base64',
  'Cidr',
  'Equals',
  'FindInMap',
  'GetAZs',
  'ImportValue',
  'If',
  'Join',
  'Not',
  'Or',
  'Select',
  'Split',
  'Sub',
  'Transform',
]

function longForm(name: string, value: unknown): Record<string, unknown> {
  if (name === 'Ref' || name === 'Condition') return { [name]: value }
  if (name === 'GetAtt' && typeof value === 'string') return { 'Fn::GetAtt': value.split('.') }
  return { [`Fn::${name}`]: value }
}

const cfnTags: Tags = ['Ref', 'Condition', 'GetAtt', ...INTRINSICS].flatMap((name) => [
  { tag: `!${name}`, resolve: (value: string) => longForm(name, value) },
  {
    tag: `!${name}`,
    collection: 'seq' as const,
    resolve: (seq: { toJSON(): unknown }) => longForm(name, seq.toJSON()),
  },
  {
    tag: `!${name}`,
    collection: 'map' as const,
    resolve: (map: { toJSON(): unknown }) => longForm(name, map.toJSON()),
  },
])

type Json = Record<string, unknown>
interface Template {
  Resources: Record<string, { Type: string; Properties?: Json }>
  Outputs?: Record<string, { Value: unknown }>
}

function load(name: string): Template {
  return parse(readFileSync(join(DIR, name), 'utf8'), { customTags: cfnTags }) as Template
}

function resourcesOfType(template: Template, type: string): Json[] {
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === type)
    .map((resource) => resource.Properties ?? {})
}

function only(template: Template, type: string): Json {
  const found = resourcesOfType(template, type)
  expect(found, type).toHaveLength(1)
  return found[0]!
}

/** Every IAM action the template's roles allow. */
function allowedActions(template: Template): string[] {
  const actions: string[] = []
  for (const role of resourcesOfType(template, 'AWS::IAM::Role')) {
    for (const policy of (role.Policies ?? []) as Array<{ PolicyDocument: { Statement: Json[] } }>)
      for (const statement of policy.PolicyDocument.Statement)
        if (statement.Effect === 'Allow') actions.push(...[statement.Action].flat().map(String))
  }
  return actions
}

describe('cloudformation/ecs.yaml', () => {
  const template = load('ecs.yaml')
  const taskDefinition = only(template, 'AWS::ECS::TaskDefinition')
  const container = (taskDefinition.ContainerDefinitions as Json[])[0]!

  it('checks health at /health/liveliness', () => {
    const targetGroup = only(template, 'AWS::ElasticLoadBalancingV2::TargetGroup')
    expect(targetGroup.HealthCheckPath).toBe('/health/liveliness')
    expect(JSON.stringify((container.HealthCheck as Json).Command)).toContain('/health/liveliness')
  })

  it('passes the S3 config location and the master key secret to the container', () => {
    const env = Object.fromEntries(
      (container.Environment as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value]),
    )
    expect(env.LITELLM_CONFIG_BUCKET_NAME).toEqual({ Ref: 'ConfigBucketName' })
    expect(env.LITELLM_CONFIG_BUCKET_OBJECT_KEY).toEqual({ Ref: 'ConfigObjectKey' })
    const secrets = (container.Secrets as Array<{ Name: string }>).map((s) => s.Name)
    expect(secrets).toEqual(['LITELLM_MASTER_KEY'])
  })

  it('drains a target for at least the container stop timeout', () => {
    const targetGroup = only(template, 'AWS::ElasticLoadBalancingV2::TargetGroup')
    const attributes = targetGroup.TargetGroupAttributes as Array<{ Key: string; Value: string }>
    const delay = Number(attributes.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value)
    expect(delay).toBeGreaterThanOrEqual(container.StopTimeout as number)
  })

  it('lets the task call Bedrock and SageMaker and read its config', () => {
    expect(allowedActions(template)).toEqual(
      expect.arrayContaining(['bedrock:InvokeModel*', 'sagemaker:InvokeEndpoint*', 's3:GetObject']),
    )
  })

  it('outputs the load balancer DNS name', () => {
    expect(template.Outputs?.LoadBalancerDnsName?.Value).toEqual({
      'Fn::GetAtt': ['LoadBalancer', 'DNSName'],
    })
  })
})

describe('cloudformation/lambda.yaml', () => {
  const template = load('lambda.yaml')
  const fn = only(template, 'AWS::Lambda::Function')

  it('streams responses through the Function URL', () => {
    expect(only(template, 'AWS::Lambda::Url').InvokeMode).toBe('RESPONSE_STREAM')
  })

  it('points at a handler the built Lambda bundle exports, on Node 22', async () => {
    expect(fn.Runtime).toBe('nodejs22.x')
    // The deployment zip holds dist/lambda.mjs as lambda.mjs (built by the test run's global setup).
    expect(fn.Handler).toBe('lambda.streamingHandler')
    const bundle = (await import(pathToFileURL(resolve('dist/lambda.mjs')).href)) as Record<string, unknown>
    expect(typeof bundle.streamingHandler).toBe('function')
    expect(typeof bundle.handler).toBe('function')
  })

  it('passes the S3 config location and lets the function call Bedrock and SageMaker', () => {
    const env = (fn.Environment as { Variables: Json }).Variables
    expect(env.LITELLM_CONFIG_BUCKET_NAME).toEqual({ Ref: 'ConfigBucketName' })
    expect(env.LITELLM_CONFIG_BUCKET_OBJECT_KEY).toEqual({ Ref: 'ConfigObjectKey' })
    expect(allowedActions(template)).toEqual(
      expect.arrayContaining(['bedrock:InvokeModel*', 'sagemaker:InvokeEndpoint*', 's3:GetObject']),
    )
  })

  it('outputs the Function URL', () => {
    expect(template.Outputs?.FunctionUrl?.Value).toEqual({ 'Fn::GetAtt': ['FunctionUrl', 'FunctionUrl'] })
  })
})
