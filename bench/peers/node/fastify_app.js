'use strict'
// The standard workload (shared/bench/WORKLOAD.md) on Fastify 5, logger off.
// The schemas are bench/app.py's, so Fastify's own validator (Ajv, with its
// default coercion) checks /order and /users/:id, and its compiled serializer
// (fast-json-stringify) writes /prices.
// Run with: HOST=127.0.0.1 PORT=3000 node fastify_app.js

const fastify = require('fastify')({ logger: false })

const SYMBOLS = ('BTC-USD ETH-USD SOL-USD XRP-USD ADA-USD DOGE-USD AVAX-USD DOT-USD LINK-USD ' +
  'MATIC-USD LTC-USD BCH-USD XLM-USD ATOM-USD UNI-USD ETC-USD FIL-USD APT-USD ' +
  'ARB-USD OP-USD').split(' ')

const PRICES = SYMBOLS.map((symbol, i) => ({
  symbol,
  bid: 43250.5 + i * 0.25,
  ask: 43251.0 + i * 0.25,
  ts: 1732200000123 + i,
  venue: 'x'
}))

const PRICES_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      symbol: { type: 'string' },
      bid: { type: 'number' },
      ask: { type: 'number' },
      ts: { type: 'integer' },
      venue: { type: 'string' }
    }
  }
}

const ORDER_SCHEMA = {
  type: 'object',
  required: ['symbol', 'side', 'qty', 'price'],
  properties: {
    symbol: { type: 'string', minLength: 1, maxLength: 16 },
    side: { type: 'string', enum: ['buy', 'sell'] },
    qty: { type: 'number', exclusiveMinimum: 0 },
    price: { type: 'number', exclusiveMinimum: 0 }
  }
}

const USER_SCHEMA = {
  params: { type: 'object', properties: { id: { type: 'integer' } } },
  querystring: { type: 'object', properties: { fields: { type: 'string' } } }
}

// The authenticated variant (peers fastify-jwt, fastify-jwt-cache): every
// route behind @fastify/jwt, HS256, as bench/app_jwt.py does with fastcore's
// jwt plugin; JWT_CACHE=1 turns on fast-jwt's cache of verified tokens.
if (process.env.JWT_SECRET) {
  const verify = process.env.JWT_CACHE ? { cache: true } : {}
  fastify.register(require('@fastify/jwt'), { secret: process.env.JWT_SECRET, verify })
  fastify.addHook('onRequest', async (request) => { await request.jwtVerify() })
}

fastify.get('/json', async () => ({ hello: 'world' }))

fastify.get('/prices', { schema: { response: { 200: PRICES_SCHEMA } } }, async () => PRICES)

fastify.post('/order', { schema: { body: ORDER_SCHEMA } }, async (request) => request.body)

fastify.get('/users/:id', { schema: USER_SCHEMA },
  async (request) => ({ id: request.params.id, fields: request.query.fields }))

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT || 3000)

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    fastify.close().then(() => process.exit(0), () => process.exit(1))
  })
}

fastify.listen({ host, port }).catch((err) => {
  console.error(err)
  process.exit(1)
})
