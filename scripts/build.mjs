// Bundles each runtime entry point with esbuild: one self-contained file per runtime.
import { copyFile, mkdir } from 'node:fs/promises'
import { build } from 'esbuild'

const common = { bundle: true, format: 'esm', sourcemap: true, logLevel: 'warning', target: 'es2022' }

/** Node and Lambda bundles: Node built-ins available, CommonJS dependencies given a require(). */
const nodeBundle = (entry, outfile) =>
  build({
    ...common,
    entryPoints: [entry],
    outfile,
    platform: 'node',
    target: 'node20',
    // Node's WebCrypto is slow per call; see adapters/node/fast-crypto.ts.
    inject: ['adapters/node/fast-crypto.ts'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  })

await Promise.all([
  nodeBundle('adapters/node/main.ts', 'dist/node.mjs'),
  nodeBundle('adapters/lambda/index.ts', 'dist/lambda.mjs'),
  // Workers: web platform only, no Node built-ins and no nodejs_compat.
  build({
    ...common,
    entryPoints: ['adapters/workers/index.ts'],
    outfile: 'dist/worker.mjs',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
  }),
])

// The embedded database (PGlite) loads its WebAssembly and data files next to the module that runs
// it; the bundles live in dist/, so the files go there too and dist/ stays self-contained.
await mkdir('dist', { recursive: true })
for (const file of ['pglite.wasm', 'pglite.data', 'initdb.wasm']) {
  await copyFile(`node_modules/@electric-sql/pglite/dist/${file}`, `dist/${file}`)
}
