// The baseline: a bare Node pass-through proxy (no parsing, no translation) in front of the same
// upstream. Usage: node bench/passthrough.mjs <upstreamPort>. Prints its port on stdout; exits
// when stdin closes (the parent benchmark died).
import http from 'node:http'

const upstreamPort = Number(process.argv[2])
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0) {
  console.error('usage: node bench/passthrough.mjs <upstreamPort>')
  process.exit(2)
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

const server = http.createServer((req, res) => {
  const upstream = http.request(
    { agent, host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      upRes.pipe(res)
    },
  )
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' })
    res.end(String(error.message))
  })
  req.pipe(upstream)
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 121_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
