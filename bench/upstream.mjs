// Fake Bedrock Runtime for the benchmark: answers Converse and ConverseStream with fixed, precomputed
// bytes. No SigV4 verification, no body parsing: it must cost as little as possible so that the
// numbers measure the gateway, not the fake. Prints its port on stdout; exits when stdin closes
// (i.e. when the parent benchmark dies), so it never outlives `bench/run.mjs`.
import http from 'node:http'
import { pathToFileURL } from 'node:url'

const CRC_TABLE = new Uint32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  CRC_TABLE[n] = c >>> 0
}

/** CRC-32 (IEEE 802.3, as used by the AWS event-stream framing) of bytes[start, end). */
export function crc32(bytes, start = 0, end = bytes.length) {
  let c = 0xffffffff
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** One `application/vnd.amazon.eventstream` frame with string (type 7) headers and a JSON payload. */
export function eventFrame(eventType, payloadObject) {
  const headers = { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' }
  const headerParts = Object.entries(headers).map(([name, value]) => {
    const nameBytes = Buffer.from(name, 'utf8')
    const valueBytes = Buffer.from(value, 'utf8')
    const part = Buffer.alloc(1 + nameBytes.length + 3 + valueBytes.length)
    part.writeUInt8(nameBytes.length, 0)
    nameBytes.copy(part, 1)
    part.writeUInt8(7, 1 + nameBytes.length)
    part.writeUInt16BE(valueBytes.length, 2 + nameBytes.length)
    valueBytes.copy(part, 4 + nameBytes.length)
    return part
  })
  const headerBytes = Buffer.concat(headerParts)
  const payload = Buffer.from(JSON.stringify(payloadObject), 'utf8')
  const total = 12 + headerBytes.length + payload.length + 4
  const frame = Buffer.alloc(total)
  frame.writeUInt32BE(total, 0)
  frame.writeUInt32BE(headerBytes.length, 4)
  frame.writeUInt32BE(crc32(frame, 0, 8), 8)
  headerBytes.copy(frame, 12)
  payload.copy(frame, 12 + headerBytes.length)
  frame.writeUInt32BE(crc32(frame, 0, total - 4), total - 4)
  return frame
}

export const CONVERSE_BODY = Buffer.from(
  JSON.stringify({
    output: { message: { role: 'assistant', content: [{ text: 'Hello! How can I help?' }] } },
    stopReason: 'end_turn',
    usage: { inputTokens: 10, outputTokens: 8, totalTokens: 18 },
    metrics: { latencyMs: 1 },
  }),
)

const TOKENS = ['Hello', '!', ' How', ' can I', ' help?']
export const STREAM_BODY = Buffer.concat([
  eventFrame('messageStart', { role: 'assistant' }),
  ...TOKENS.map((text) => eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } })),
  eventFrame('contentBlockStop', { contentBlockIndex: 0 }),
  eventFrame('messageStop', { stopReason: 'end_turn' }),
  eventFrame('metadata', {
    usage: { inputTokens: 10, outputTokens: 8, totalTokens: 18 },
    metrics: { latencyMs: 1 },
  }),
])

const CONVERSE_HEADERS = {
  'content-type': 'application/json',
  'content-length': String(CONVERSE_BODY.length),
  'x-amzn-requestid': '00000000-0000-4000-8000-000000000000',
}
// No content-length: real ConverseStream responses are chunked.
const STREAM_HEADERS = {
  'content-type': 'application/vnd.amazon.eventstream',
  'x-amzn-requestid': '00000000-0000-4000-8000-000000000000',
}
const NOT_FOUND = Buffer.from('{"message":"not found"}')

function respond(req, res) {
  const url = req.url
  if (req.method === 'POST' && url.startsWith('/model/')) {
    if (url.endsWith('/converse')) {
      res.writeHead(200, CONVERSE_HEADERS)
      res.end(CONVERSE_BODY)
      return
    }
    if (url.endsWith('/converse-stream')) {
      res.writeHead(200, STREAM_HEADERS)
      res.write(STREAM_BODY)
      res.end()
      return
    }
  }
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': String(NOT_FOUND.length) })
  res.end(NOT_FOUND)
}

function main() {
  const server = http.createServer((req, res) => {
    // Drain the request body, answer once it has arrived (as a real server would).
    req.on('data', () => {})
    req.on('end', () => respond(req, res))
  })
  server.keepAliveTimeout = 120_000
  server.headersTimeout = 121_000
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${server.address().port}\n`)
  })
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  process.stdin.resume()
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main()
