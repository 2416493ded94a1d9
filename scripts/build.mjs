// Bundles each runtime entry point with esbuild: one file per runtime, no build step at run time.
import { build } from 'esbuild'

const common = { bundle: true, format: 'esm', sourcemap: true, logLevel: 'warning', target: 'es2022' }

await Promise.all([
  build({
    ...common,
    entryPoints: ['adapters/node/main.ts'],
    outfile: 'dist/node.mjs',
    platform: 'node',
    // Node's WebCrypto is slow per call; see adapters/node/fast-crypto.ts.
    inject: ['adapters/node/fast-crypto.ts'],
    target: 'node20',
    // Some CommonJS dependencies call require(); give the ESM bundle one.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  }),
  build({
    ...common,
    entryPoints: ['adapters/lambda/index.ts'],
    outfile: 'dist/lambda.mjs',
    platform: 'node',
    inject: ['adapters/node/fast-crypto.ts'],
    target: 'node20',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  }),
  build({
    ...common,
    entryPoints: ['adapters/workers/index.ts'],
    outfile: 'dist/worker.mjs',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
  }),
])
