'use strict'
// The WebSocket benchmark (bench/ws_app.py's routes) on Node's `ws` library:
// /echo sends every message back; /push sends a message received on any of its
// connections to each of them. Compression off.
// Run with: HOST=127.0.0.1 PORT=3000 node ws_app.js

const http = require('http')
const { WebSocketServer } = require('ws')

const server = http.createServer((req, res) => { res.writeHead(426); res.end() })
const echo = new WebSocketServer({ noServer: true, perMessageDeflate: false })
const push = new WebSocketServer({ noServer: true, perMessageDeflate: false })

echo.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }))
})
push.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const client of push.clients) client.send(data, { binary: isBinary })
  })
})

server.on('upgrade', (req, socket, head) => {
  const target = req.url === '/echo' ? echo : req.url === '/push' ? push : null
  if (target === null) return socket.destroy()
  target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req))
})

server.listen(Number(process.env.PORT), process.env.HOST, () => {
  console.log(`ws listening on ${process.env.HOST}:${process.env.PORT}`)
})
