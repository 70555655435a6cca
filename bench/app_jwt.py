"""The workload app with every route behind ``app.jwt.authenticate`` (HS256).

``python bench/load.py --routes users --peers fastcore-jwt,fastify-jwt --jwt``
loads it next to Fastify with ``@fastify/jwt`` doing the same (an ``onRequest``
hook calling ``request.jwtVerify()``), wrk sending a valid bearer token.
"""
import fastcore
from fastcore.plugins import jwt

from bench.app import build_app
from bench.peers.workload import JWT_SECRET

app = build_app()
app.register(jwt, secret=JWT_SECRET)


@fastcore.plugin(name="authenticated")
def authenticated(instance, opts):
    instance.add_hook("on_request", instance.jwt.authenticate)


app.register(authenticated)
