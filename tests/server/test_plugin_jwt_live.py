"""fastcore.plugins.jwt over real sockets (SPEC §13): keys from a JSON Web Key Set
served by a second fastcore app on port 0 (fetched off the event loop, cached,
refetched on an unknown kid at most once per 60 s), and hostile tokens on one
keep-alive connection."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import threading

import jwt as pyjwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import fastcore
from fastcore.plugins import jwt
from fastcore.plugins._jwt import jwks as jwks_module
from tests.conftest import get, live_server

SECRET = "a-secret-of-thirty-two-bytes-min"


@pytest.fixture(scope="module")
def rsa_keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwk(key, kid: str, alg: str) -> dict:
    algorithm = pyjwt.algorithms.RSAAlgorithm if alg.startswith("RS") \
        else pyjwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": alg,
            "use": "sig"}


class KeySetServer:
    """A fastcore app serving ``/jwks.json`` from ``keys``, counting its fetches;
    while ``hold`` is set, a fetch waits for ``release``."""

    def __init__(self, keys: list[dict]) -> None:
        self.keys = keys
        self.fetches = 0
        self.body: bytes | None = None
        self.hold = False
        self.entered = threading.Event()
        self.app = fastcore.App()
        self.app.get("/jwks.json", self.serve)
        self.server = None
        self._release: asyncio.Event | None = None

    async def serve(self, request, reply):
        self.fetches += 1
        self.entered.set()
        if self.hold:
            self._release = asyncio.Event()
            await self._release.wait()
        if self.body is not None:
            return reply.type("application/json").send(self.body)
        return {"keys": self.keys}

    def release(self) -> None:
        self.server.loop.call_soon_threadsafe(self._release.set)

    @property
    def url(self) -> str:
        return self.server.address + "/jwks.json"


@pytest.fixture
def key_set(rsa_keys, ec_key):
    served = KeySetServer([jwk(rsa_keys[0], "k1", "RS256"), jwk(ec_key, "e1", "ES256")])
    with live_server(served.app) as server:
        served.server = server
        yield served


def app_verifying(url: str, **options):
    app = fastcore.App()
    app.register(jwt, jwks_url=url, algorithms=options.pop("algorithms", ["RS256", "ES256"]),
                 **options)

    async def routes(app, opts):
        app.get("/me", lambda request, reply: {"user": request.user},
                on_request=[app.jwt.authenticate])
        app.get("/public", lambda request, reply: "open")

    app.register(routes)
    return app


def request_me(client, token: str | None):
    headers = "Authorization: Bearer %s\r\n" % token if token is not None else ""
    response = client.request(get("/me", headers))
    assert int(response.header("content-length")) == len(response.body)
    return response.status, orjson.loads(response.body)


def signed(key, kid: str | None, alg: str = "RS256", **claims) -> str:
    headers = {"kid": kid} if kid is not None else None
    return pyjwt.encode({"sub": "u", **claims}, key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Clock:
    """``jwks.monotonic`` moved forward on demand."""

    def __init__(self, monkeypatch) -> None:
        self.offset = 0.0
        real = jwks_module.monotonic
        monkeypatch.setattr(jwks_module, "monotonic", lambda: real() + self.offset)


# --- jwks_url --------------------------------------------------------------------------------
def test_keys_are_fetched_once_and_cached(key_set, rsa_keys, ec_key):
    app = app_verifying(key_set.url)
    with live_server(app) as server:
        client = server.client()
        assert key_set.fetches == 0            # nothing fetched at boot
        for _ in range(3):
            assert request_me(client, signed(rsa_keys[0], "k1")) == (200, {"user": {"sub": "u"}})
        assert request_me(client, signed(ec_key, "e1", "ES256"))[0] == 200
        assert key_set.fetches == 1
        client.close()


def test_an_unknown_kid_refetches_at_most_once_per_60_seconds(key_set, rsa_keys, monkeypatch):
    clock = Clock(monkeypatch)
    app = app_verifying(key_set.url)
    rotated = signed(rsa_keys[1], "k2")
    unknown_kid = (401, {"statusCode": 401, "code": "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID",
                         "error": "Unauthorized",
                         "message": "Authorization token is invalid: no key of the key set "
                                    "matches the token's key id (kid)"})
    with live_server(app) as server:
        client = server.client()
        assert request_me(client, signed(rsa_keys[0], "k1"))[0] == 200
        assert key_set.fetches == 1
        key_set.keys.append(jwk(rsa_keys[1], "k2", "RS256"))  # the issuer rotates
        clock.offset = 59.0
        for kid in ["k2", "made-up-1", "made-up-2"]:          # within 60 s: no fetch
            assert request_me(client, signed(rsa_keys[1], kid)) == unknown_kid
        assert key_set.fetches == 1
        clock.offset = 61.0
        assert request_me(client, rotated) == (200, {"user": {"sub": "u"}})
        assert key_set.fetches == 2
        for _ in range(5):
            assert request_me(client, signed(rsa_keys[1], "made-up-3")) == unknown_kid
        assert request_me(client, signed(rsa_keys[0], "k1"))[0] == 200
        assert key_set.fetches == 2
        clock.offset = 122.0
        assert request_me(client, signed(rsa_keys[1], "made-up-4")) == unknown_kid
        assert key_set.fetches == 3
        client.close()


def test_the_fetch_does_not_block_the_event_loop(key_set, rsa_keys):
    app = app_verifying(key_set.url)
    key_set.hold = True
    with live_server(app) as server:
        waiting, other = server.client(), server.client()
        waiting.send(get("/me", "Authorization: Bearer %s\r\n" % signed(rsa_keys[0], "k1")))
        assert key_set.entered.wait(10)        # the fetch is in flight, held
        response = other.request(get("/public"))
        assert (response.status, response.body) == (200, b"open")
        also_waiting = server.client()         # a second request shares the fetch
        also_waiting.send(get("/me", "Authorization: Bearer %s\r\n" % signed(rsa_keys[0], "k1")))
        assert other.request(get("/public")).status == 200
        key_set.release()
        for client in (waiting, also_waiting):
            response = client.read_response()
            assert (response.status, orjson.loads(response.body)) == (200, {"user": {"sub": "u"}})
            client.close()
        assert key_set.fetches == 1
        other.close()


def test_the_token_alg_must_match_the_key_and_the_allowed_ones(key_set, rsa_keys, ec_key):
    app = app_verifying(key_set.url)
    public = rsa_keys[0].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64(orjson.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}))
    payload = b64(b'{"sub":"admin"}')
    confused = "%s.%s.%s" % (header, payload, b64(hmac.new(
        public, ("%s.%s" % (header, payload)).encode(), hashlib.sha256).digest()))
    with live_server(app) as server:
        client = server.client()
        cases = [
            (confused, "The specified alg value is not allowed"),
            (signed(rsa_keys[0], "e1"),
             "Token algorithm 'RS256' does not match the key's algorithm 'ES256'"),
            (signed(rsa_keys[0], None), "the token has no key id (kid)"),
            (signed(rsa_keys[1], "k1"), "Signature verification failed"),
            ("x.y.z", "Invalid header padding"),
        ]
        for token, reason in cases:
            assert request_me(client, token) == (401, {
                "statusCode": 401, "code": "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID",
                "error": "Unauthorized", "message": "Authorization token is invalid: " + reason})
        assert request_me(client, signed(ec_key, "e1", "ES256"))[0] == 200
        client.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_key_set_is_503_and_retried_later(key_set, rsa_keys, monkeypatch):
    clock = Clock(monkeypatch)
    app = app_verifying("http://127.0.0.1:%d/jwks.json" % closed_port())
    unavailable = (503, {"statusCode": 503, "code": "FC_ERR_JWT_JWKS_UNAVAILABLE",
                         "error": "Service Unavailable",
                         "message": "The JSON Web Key Set could not be fetched"})
    with live_server(app) as server:
        client = server.client()
        assert request_me(client, signed(rsa_keys[0], "k1")) == unavailable
        assert client.request(get("/public")).status == 200
        client.close()

    key_set.body = b"<html>not json</html>"
    app = app_verifying(key_set.url)
    with live_server(app) as server:
        client = server.client()
        assert request_me(client, signed(rsa_keys[0], "k1")) == unavailable
        assert request_me(client, signed(rsa_keys[0], "k1")) == unavailable
        assert key_set.fetches == 1                    # retried after 5 s, not per request
        key_set.body = None
        clock.offset = 6.0
        assert request_me(client, signed(rsa_keys[0], "k1"))[0] == 200
        assert key_set.fetches == 2
        client.close()


def test_app_jwt_verifies_with_the_key_set_only_when_awaited(key_set, rsa_keys):
    app = app_verifying(key_set.url)
    with live_server(app) as server:
        token = signed(rsa_keys[0], "k1", role="r")
        assert server.call(app.jwt.verify_async(token)) == {"sub": "u", "role": "r"}
        with pytest.raises(TypeError, match="verify_async"):
            app.jwt.verify(token)
        with pytest.raises(TypeError, match="only verifies"):
            app.jwt.sign({"sub": "u"})


# --- hostile tokens on one connection ------------------------------------------------------------
def test_hostile_tokens_on_one_keep_alive_connection_never_give_a_500():
    app = fastcore.App()
    app.register(jwt, secret=SECRET, verify={"issuer": "me"})

    async def routes(app, opts):
        app.get("/me", lambda request, reply: {"user": request.user},
                on_request=[app.jwt.authenticate])

    app.register(routes)
    good = pyjwt.encode({"sub": "u", "iss": "me"}, SECRET, algorithm="HS256")
    hostile = [
        "Authorization: Bearer %s.%s.\r\n" % (b64(b'{"alg":"none"}'), b64(b'{"sub":"x"}')),
        "Authorization: Bearer %s\r\n" % ("a" * 12_000),
        "Authorization: Bearer %s.%s.x\r\n" % (b64(b"[" * 5_000), b64(b"{}")),
        "Authorization: Bearer %s\r\n" % pyjwt.encode({"iss": "you"}, SECRET),
        "Authorization: Bearer %s\r\n" % pyjwt.encode({"iss": "me", "exp": 1}, SECRET),
        "Authorization: Basic Zm9vOmJhcg==\r\n",
        "",
    ]
    expected = [401, 401, 401, 401, 401, 400, 401]
    with live_server(app) as server:
        client = server.client()
        for headers, status in zip(hostile, expected):
            response = client.request(get("/me", headers))
            assert response.status == status, response.body
            assert int(response.header("content-length")) == len(response.body)
            assert orjson.loads(response.body)["code"].startswith("FC_ERR_JWT_")
            response = client.request(get("/me", "Authorization: Bearer %s\r\n" % good))
            assert response.status == 200
        client.close()
