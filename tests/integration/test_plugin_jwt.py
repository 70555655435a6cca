"""fastcore.plugins.jwt through app.inject (SPEC §13): signing and verifying with
HMAC and asymmetric keys, every error answer, hostile tokens, cookies, trusted,
formatter, namespaces, secret functions, require_role, and the options."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import time

import jwt as pyjwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import fastcore
from fastcore.plugins import jwt
from fastcore.plugins._jwt import Jwt
from fastcore.plugins._jwt import errors as jwt_errors

SECRET = "a-secret-of-thirty-two-bytes-min"
OTHER = "another-secret-thirty-two-bytes!"


# --- keys and tokens ---------------------------------------------------------------------
def private_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(rsa_key):
    """PEM pairs by algorithm family."""
    ec256 = ec.generate_private_key(ec.SECP256R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    return {name: {"private": private_pem(k), "public": public_pem(k)}
            for name, k in (("rsa", rsa_key), ("ec256", ec256), ("ed25519", ed))}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header, payload, secret: bytes = SECRET.encode(), digest=hashlib.sha256) -> str:
    """A token built by hand: header and payload as dicts (JSON) or raw bytes,
    HMAC-signed with ``secret``."""
    parts = [b64(part if isinstance(part, bytes) else orjson.dumps(part))
             for part in (header, payload)]
    signing_input = ".".join(parts).encode()
    return "%s.%s.%s" % (parts[0], parts[1],
                         b64(hmac.new(secret, signing_input, digest).digest()))


HS256 = {"alg": "HS256", "typ": "JWT"}


# --- the app under test --------------------------------------------------------------------
def make_app(*registrations: dict, **options):
    """An app with jwt registered (``options``, then each of ``registrations``) and
    routes using it, registered after it so that ``app.jwt`` exists."""
    app = fastcore.App()
    if options or not registrations:
        app.register(jwt, **({"secret": SECRET} | options))
    for more in registrations:
        app.register(jwt, **more)

    async def routes(app, opts):
        @app.get("/me", on_request=[app.jwt.authenticate] if None in app.jwt else [])
        async def me(request, reply):
            return {"user": request.user}

        @app.get("/verify")
        async def verify(request, reply):
            namespace = request.query.get("namespace")
            user = await request.jwt_verify(namespace=namespace)
            return {"user": user, "same": user is request.user}

        @app.post("/login")
        async def login(request, reply):
            return {"token": await reply.jwt_sign(request.body,
                                                  namespace=request.query.get("namespace"))}

        @app.get("/admin", on_request=[app.jwt.authenticate] if None in app.jwt else [],
                 pre_handler=[jwt.require_role("admin")])
        async def admin(request, reply):
            return "welcome"

        @app.get("/public")
        async def public(request, reply):
            return "open"

    app.register(routes)
    return app


def bearer(token: str) -> dict:
    return {"authorization": "Bearer " + token}


def answer(app, url="/me", headers=None, **kwargs):
    response = app.inject_sync("GET", url, headers=headers, **kwargs)
    assert int(response.headers["content-length"]) == len(response.body)
    return response


def assert_error(response, status, code, message):
    phrase = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
              503: "Service Unavailable"}[status]
    assert response.status_code == status, response.text
    assert response.json() == {"statusCode": status, "code": code, "error": phrase,
                               "message": message}


def invalid(reason: str) -> str:
    return "Authorization token is invalid: " + reason


def still_serves(app):
    token = app.jwt.sign({"sub": "next"})
    response = answer(app, headers=bearer(token))
    assert response.status_code == 200 and response.json()["user"]["sub"] == "next"


# --- the plain path ------------------------------------------------------------------------
def test_a_signed_token_authenticates_and_sets_request_user():
    app = make_app()
    login = app.inject_sync("POST", "/login", payload={"sub": "u1", "role": "user"})
    token = login.json()["token"]
    response = answer(app, headers=bearer(token))
    assert response.status_code == 200
    user = response.json()["user"]
    assert user["sub"] == "u1" and user["role"] == "user"
    assert abs(user["iat"] - time.time()) < 60
    assert pyjwt.decode(token, SECRET, algorithms=["HS256"])["sub"] == "u1"


def test_request_jwt_verify_returns_and_sets_the_user():
    app = make_app()
    response = answer(app, "/verify", headers=bearer(forge(HS256, {"sub": "v"})))
    assert response.json() == {"user": {"sub": "v"}, "same": True}


def test_the_bearer_scheme_is_case_insensitive():
    app = make_app()
    response = answer(app, headers={"authorization": "bEaReR " + forge(HS256, {"sub": "c"})})
    assert response.status_code == 200


def test_routes_without_authentication_are_untouched():
    app = make_app()
    response = answer(app, "/public", headers={"authorization": "garbage"})
    assert (response.status_code, response.text) == (200, "open")


def test_reply_jwt_sign_and_request_jwt_verify_are_awaitables():
    app = make_app()
    seen = {}

    async def routes(app, opts):
        @app.get("/probe")
        async def probe(request, reply):
            signed, verified = reply.jwt_sign({"sub": "p"}), request.jwt_verify()
            seen["awaitables"] = inspect.isawaitable(signed), inspect.isawaitable(verified)
            return {"token": await signed, "user": await verified}

    app.register(routes)
    response = answer(app, "/probe", headers=bearer(forge(HS256, {"sub": "caller"})))
    assert response.json()["user"] == {"sub": "caller"}
    assert pyjwt.decode(response.json()["token"], SECRET, algorithms=["HS256"])["sub"] == "p"
    assert seen == {"awaitables": (True, True)}


# --- the errors of the contract ------------------------------------------------------------
def test_no_authorization_header_is_401():
    app = make_app()
    assert_error(answer(app), 401, "FC_ERR_JWT_NO_AUTHORIZATION_IN_HEADER",
                 "No Authorization was found in request.headers")
    still_serves(app)


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "token",
                                   "Bearer  two-spaces", ""])
def test_an_authorization_header_not_bearer_token_is_400(value):
    app = make_app()
    assert_error(answer(app, headers={"authorization": value}), 400, "FC_ERR_JWT_BAD_REQUEST",
                 "Format is Authorization: Bearer [token]")
    still_serves(app)


def test_an_expired_token_is_401_expired():
    app = make_app()
    token = forge(HS256, {"sub": "x", "exp": int(time.time()) - 10})
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_EXPIRED", "Authorization token expired")
    still_serves(app)


def test_leeway_accepts_a_token_just_expired():
    app = make_app(verify={"leeway": 30})
    token = forge(HS256, {"sub": "x", "exp": int(time.time()) - 10})
    assert answer(app, headers=bearer(token)).status_code == 200


def test_a_forged_signature_is_401_invalid():
    app = make_app()
    token = forge(HS256, {"sub": "admin"}, secret=OTHER.encode())
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid("Signature verification failed"))
    still_serves(app)


def test_a_tampered_payload_is_401_invalid():
    app = make_app()
    header, _, signature = forge(HS256, {"sub": "user"}).split(".")
    token = ".".join([header, b64(b'{"sub":"admin"}'), signature])
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid("Signature verification failed"))


@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_alg_none_is_always_refused(alg):
    app = make_app()
    unsigned = "%s.%s." % (b64(orjson.dumps({"alg": alg, "typ": "JWT"})),
                           b64(b'{"sub":"admin"}'))
    response = answer(app, headers=bearer(unsigned))
    assert_error(response, 401, "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID",
                 invalid("The specified alg value is not allowed"))
    still_serves(app)


def test_an_algorithm_not_allowed_is_refused_even_with_the_right_secret():
    app = make_app()  # HS256 only
    token = forge({"alg": "HS512", "typ": "JWT"}, {"sub": "x"}, digest=hashlib.sha512)
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID",
                 invalid("The specified alg value is not allowed"))


def test_the_rsa_public_key_as_an_hmac_secret_is_refused(keys):
    # Key confusion: RS256 is configured, the attacker signs HS256 with the
    # public key (which is public) as the HMAC secret.
    app = make_app(secret=keys["rsa"], algorithms=["RS256"])
    token = forge(HS256, {"sub": "admin"}, secret=keys["rsa"]["public"].encode())
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID",
                 invalid("The specified alg value is not allowed"))
    still_serves(app)


@pytest.mark.parametrize("token, reason", [
    ("abc", "Not enough segments"),
    ("a.b", "Not enough segments"),
    ("a.b.c.d", "Invalid header padding"),
    ("", "Not enough segments"),
    ("!!!.###.$$$", "Invalid header padding"),
    ("%s.%s.c2ln" % (b64(b"{not json"), b64(b"{}")), "Invalid header string: "),
    ("%s.%s.c2ln" % (b64(b"[1,2]"), b64(b"{}")), "Invalid header string: must be a json object"),
    ("%s.%s.c2ln" % (b64(b"[" * 10_000), b64(b"{}")), "Invalid header string: "),
    ("%s.%s.c2ln" % (b64(b"\xff\xfe"), b64(b"{}")), "Invalid header string: "),
    ("%s.%s.%s" % (b64(orjson.dumps(HS256)), "***", "c2ln"), "Invalid payload padding"),
    ("%s.%s.%s" % (b64(orjson.dumps(HS256)), b64(b"{}"), "***"), "Invalid crypto padding"),
    ("%s.%s.c2ln" % (b64(orjson.dumps({"typ": "JWT"})), b64(b"{}")), "Algorithm not specified"),
    ("%s.%s.c2ln" % (b64(orjson.dumps({"alg": "HS256", "kid": 7})), b64(b"{}")),
     "Key ID header parameter must be a string"),
    ("é.é.é", "Invalid header padding"),
])
def test_malformed_tokens_are_401_invalid_and_the_server_keeps_serving(token, reason):
    app = make_app()
    response = answer(app, headers=bearer(token))
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID"
    assert body["message"].startswith(invalid(reason)), body["message"]
    assert body["error"] == "Unauthorized" and body["statusCode"] == 401
    still_serves(app)


@pytest.mark.parametrize("payload, reason", [
    (b"{not json", "Invalid payload string: "),
    (b'"a string"', "Invalid payload string: must be a json object"),
    (b"[" * 10_000, "Invalid payload string: "),
    (b'{"exp": 1e999}', "Expiration Time claim (exp) must be an integer."),
    (b'{"exp": "tomorrow"}', "Expiration Time claim (exp) must be an integer."),
    (b'{"exp": [1]}', "Expiration Time claim (exp) must be an integer."),
    (b'{"nbf": {}}', "Not Before claim (nbf) must be an integer."),
    (b'{"iat": -1e999}', "Issued At claim (iat) must be an integer."),
    (b'{"sub": 42}', "Subject must be a string"),
])
def test_correctly_signed_but_malformed_payloads_are_401_invalid(payload, reason):
    app = make_app()
    response = answer(app, headers=bearer(forge(HS256, payload)))
    assert response.status_code == 401, response.text
    assert response.json()["message"].startswith(invalid(reason)), response.text
    still_serves(app)


def test_a_huge_header_is_401_invalid():
    app = make_app()
    token = forge({**HS256, "x": "y" * 8000}, {"sub": "x"}, secret=OTHER.encode())
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid("Signature verification failed"))
    still_serves(app)


@pytest.mark.parametrize("claims, verify, reason", [
    ({"iss": "evil"}, {"issuer": "auth.example"}, "Invalid issuer"),
    ({}, {"issuer": "auth.example"}, 'Token is missing the "iss" claim'),
    ({"iss": "b"}, {"issuer": ["a", "c"]}, "Invalid issuer"),
    ({"aud": "other"}, {"audience": "api"}, "Audience doesn't match"),
    ({"aud": "api"}, {}, "Invalid audience"),   # RFC 7519 §4.1.3: an aud must name us
    ({"sub": "bob"}, {"subject": "alice"}, "Invalid subject"),
    ({"sub": "x"}, {"required_claims": ["exp"]}, 'Token is missing the "exp" claim'),
    ({"nbf": 10**11}, {}, "The token is not yet valid (nbf)"),
    ({"iat": 10**11}, {}, "The token is not yet valid (iat)"),
])
def test_claims_that_fail_are_401_invalid(claims, verify, reason):
    app = make_app(verify=verify)
    assert_error(answer(app, headers=bearer(forge(HS256, claims))), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid(reason))


def test_claims_that_match_pass():
    app = make_app(verify={"issuer": ["a", "auth.example"], "audience": "api",
                           "subject": "alice", "required_claims": ["exp"]})
    claims = {"iss": "auth.example", "aud": ["web", "api"], "sub": "alice",
              "exp": int(time.time()) + 60}
    assert answer(app, headers=bearer(forge(HS256, claims))).status_code == 200


# --- app.jwt: sign, verify, decode -----------------------------------------------------
def booted(app):
    app.inject_sync("GET", "/public")
    return app


def test_sign_defaults_fill_the_claims_and_header():
    app = booted(make_app(sign={"expires_in": 300, "not_before": 0, "issuer": "auth.example",
                                "audience": ["api", "web"], "subject": "svc",
                                "key_id": "k1", "header": {"cty": "x"}}))
    token = app.jwt.sign({"sub": "ignored", "role": "r"})
    decoded = app.jwt.decode(token, complete=True)
    assert decoded["header"] == {"alg": "HS256", "typ": "JWT", "kid": "k1", "cty": "x"}
    claims = decoded["payload"]
    assert claims["iss"] == "auth.example" and claims["aud"] == ["api", "web"]
    assert claims["sub"] == "svc" and claims["role"] == "r"
    assert claims["exp"] - claims["iat"] == 300 and claims["nbf"] == claims["iat"]


def test_sign_options_per_call_override_the_defaults():
    app = booted(make_app(secret=SECRET * 2, algorithms=["HS256", "HS512"],
                          sign={"expires_in": 300}))
    token = app.jwt.sign({"a": 1}, algorithm="HS512", expires_in=5)
    decoded = app.jwt.decode(token, complete=True)
    assert decoded["header"]["alg"] == "HS512"
    assert decoded["payload"]["exp"] - decoded["payload"]["iat"] == 5
    assert app.jwt.verify(token)["a"] == 1
    with pytest.raises(ValueError, match="sign.algorithm"):
        app.jwt.sign({"a": 1}, algorithm="RS256")
    with pytest.raises(TypeError, match="unknown option"):
        app.jwt.sign({"a": 1}, expires=5)
    with pytest.raises(TypeError, match="payload is a dict"):
        app.jwt.sign(["not", "a", "dict"])


def test_verify_checks_and_raises_the_plugin_errors():
    app = booted(make_app(verify={"issuer": "me"}))
    good = app.jwt.sign({"iss": "me", "n": 1})
    assert app.jwt.verify(good)["n"] == 1
    with pytest.raises(jwt_errors.JwtAuthorizationTokenInvalidError, match="Invalid issuer"):
        app.jwt.verify(good, issuer="someone else")
    with pytest.raises(jwt_errors.JwtAuthorizationTokenExpiredError):
        app.jwt.verify(forge(HS256, {"iss": "me", "exp": 1}))
    assert app.jwt.verify(forge(HS256, {"iss": "me", "exp": int(time.time()) - 5}),
                          leeway=60)["iss"] == "me"
    with pytest.raises(ValueError, match="verify.leeway"):
        app.jwt.verify(good, leeway=-1)


def test_decode_does_not_verify_but_refuses_garbage():
    app = booted(make_app())
    forged = forge(HS256, {"sub": "x", "exp": 1}, secret=OTHER.encode())
    assert app.jwt.decode(forged) == {"sub": "x", "exp": 1}
    with pytest.raises(jwt_errors.JwtAuthorizationTokenInvalidError,
                       match="Not enough segments"):
        app.jwt.decode("garbage")


# --- asymmetric keys --------------------------------------------------------------------
@pytest.mark.parametrize("family, algorithms", [
    ("rsa", ["RS256"]), ("rsa", ["PS512", "RS384"]), ("ec256", ["ES256"]),
    ("ed25519", ["EdDSA"]),
])
def test_asymmetric_keys_sign_and_verify(keys, family, algorithms):
    app = make_app(secret=keys[family], algorithms=algorithms)
    token = app.inject_sync("POST", "/login", payload={"sub": family}).json()["token"]
    assert app.jwt.decode(token, complete=True)["header"]["alg"] == algorithms[0]
    assert pyjwt.decode(token, keys[family]["public"], algorithms=algorithms)["sub"] == family
    assert answer(app, headers=bearer(token)).json()["user"]["sub"] == family


def test_a_public_key_alone_verifies_and_cannot_sign(keys):
    signer = booted(make_app(secret={"private": keys["rsa"]["private"]}, algorithms=["RS256"]))
    verifier = booted(make_app(secret={"public": keys["rsa"]["public"]}, algorithms=["RS256"]))
    token = signer.jwt.sign({"sub": "s"})
    assert answer(verifier, headers=bearer(token)).json()["user"]["sub"] == "s"
    with pytest.raises(TypeError, match="only verifies"):
        verifier.jwt.sign({"sub": "s"})


def test_a_token_signed_by_another_rsa_key_is_refused(keys):
    app = make_app(secret=keys["rsa"], algorithms=["RS256"])
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = pyjwt.encode({"sub": "x"}, other, algorithm="RS256")
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid("Signature verification failed"))


def test_an_es256_token_is_refused_by_an_rs256_app(keys):
    app = make_app(secret=keys["rsa"], algorithms=["RS256"])
    token = pyjwt.encode({"sub": "x"}, keys["ec256"]["private"], algorithm="ES256")
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID",
                 invalid("The specified alg value is not allowed"))


# --- cookie -----------------------------------------------------------------------------
def test_the_token_is_read_from_the_cookie():
    app = make_app(cookie="session")
    token = forge(HS256, {"sub": "cookie"})
    response = answer(app, cookies={"theme": "dark", "session": token})
    assert response.json()["user"]["sub"] == "cookie"


def test_without_the_cookie_the_header_is_used():
    app = make_app(cookie="session")
    response = answer(app, headers=bearer(forge(HS256, {"sub": "header"})),
                      cookies={"other": "1"})
    assert response.json()["user"]["sub"] == "header"


@pytest.mark.parametrize("cookie", [None, "other=1", "session=", "=;;;", '"\\x00'])
def test_neither_cookie_nor_header_is_401_no_authorization_in_cookie(cookie):
    app = make_app(cookie="session")
    headers = {"cookie": cookie} if cookie is not None else None
    assert_error(answer(app, headers=headers), 401, "FC_ERR_JWT_NO_AUTHORIZATION_IN_COOKIE",
                 "No Authorization was found in request.cookies")
    still_serves(app)


def test_a_bad_token_in_the_cookie_is_401_invalid():
    app = make_app(cookie="session")
    assert_error(answer(app, cookies={"session": "x.y.z"}), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid("Invalid header padding"))


# --- trusted and formatter ----------------------------------------------------------------
def test_trusted_false_is_401_untrusted():
    app = make_app(trusted=lambda request, payload: payload.get("jti") != "revoked")
    assert answer(app, headers=bearer(forge(HS256, {"jti": "fine"}))).status_code == 200
    assert_error(answer(app, headers=bearer(forge(HS256, {"jti": "revoked"}))), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_UNTRUSTED", "Untrusted authorization token")


def test_an_async_trusted_is_awaited_with_the_request():
    seen = []

    async def trusted(request, payload):
        await asyncio.sleep(0)
        seen.append(request.path)
        return payload["sub"] != "banned"

    app = make_app(trusted=trusted)
    assert answer(app, headers=bearer(forge(HS256, {"sub": "ok"}))).status_code == 200
    assert answer(app, headers=bearer(forge(HS256, {"sub": "banned"}))).json()["code"] == \
        "FC_ERR_JWT_AUTHORIZATION_TOKEN_UNTRUSTED"
    assert seen == ["/me", "/me"]


def test_formatter_shapes_request_user():
    app = make_app(formatter=lambda payload: {"id": payload["sub"], "admin": False})
    response = answer(app, headers=bearer(forge(HS256, {"sub": "u9", "x": 1})))
    assert response.json()["user"] == {"id": "u9", "admin": False}


def test_an_existing_user_decoration_is_kept():
    app = fastcore.App()
    app.decorate_request("user", None)
    app.register(jwt, secret=SECRET)

    async def routes(app, opts):
        app.get("/me", lambda request, reply: {"user": request.user},
                on_request=[app.jwt.authenticate])

    app.register(routes)
    assert answer(app, headers=bearer(forge(HS256, {"sub": "d"}))).json() == {
        "user": {"sub": "d"}}


# --- namespaces ---------------------------------------------------------------------------
def test_two_namespaces_sign_and_verify_apart():
    app = booted(make_app({"secret": OTHER, "namespace": "refresh",
                           "sign": {"expires_in": 3600}}, sign={"expires_in": 60}))
    assert isinstance(app.jwt["refresh"], Jwt)
    assert app.jwt.namespaces == ("refresh",) and "refresh" in app.jwt
    access = app.inject_sync("POST", "/login", payload={"sub": "a"}).json()["token"]
    refresh = app.inject_sync("POST", "/login?namespace=refresh",
                              payload={"sub": "a"}).json()["token"]
    assert app.jwt.verify(access)["exp"] - app.jwt.verify(access)["iat"] == 60
    assert app.jwt["refresh"].verify(refresh)["exp"] - app.jwt.decode(refresh)["iat"] == 3600
    assert answer(app, "/verify?namespace=refresh", headers=bearer(refresh)).status_code == 200
    assert answer(app, "/verify", headers=bearer(access)).status_code == 200
    assert answer(app, "/me", headers=bearer(access)).status_code == 200
    for url, token in (("/verify?namespace=refresh", access), ("/verify", refresh),
                       ("/me", refresh)):
        assert_error(answer(app, url, headers=bearer(token)), 401,
                     "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID",
                     invalid("Signature verification failed"))


def test_a_namespace_registered_first_leaves_app_jwt_to_the_plain_one():
    app = fastcore.App()
    app.register(jwt, secret=OTHER, namespace="refresh")
    app.register(jwt, secret=SECRET)
    booted(app)
    assert pyjwt.decode(app.jwt.sign({"a": 1}), SECRET, algorithms=["HS256"])["a"] == 1
    assert pyjwt.decode(app.jwt["refresh"].sign({"a": 1}), OTHER, algorithms=["HS256"])["a"] == 1


def test_only_a_namespace_then_app_jwt_has_no_plain_instance():
    app = fastcore.App()
    app.register(jwt, secret=OTHER, namespace="refresh")
    booted(app)
    with pytest.raises(KeyError, match="without a namespace"):
        app.jwt.sign({"a": 1})
    with pytest.raises(KeyError, match="'nope'"):
        app.jwt["nope"]


def test_a_namespace_registered_twice_fails_the_boot():
    app = fastcore.App()
    app.register(jwt, secret=SECRET, namespace="refresh")
    app.register(jwt, secret=OTHER, namespace="refresh")
    with pytest.raises(fastcore.errors.PluginBootError, match="already registered"):
        booted(app)


# --- secret functions ---------------------------------------------------------------------
TENANTS = {"acme": "acme-secret-thirty-two-bytes-long",
           "globex": "globex-secret-32-bytes-long-too!"}


def tenant_secret(request, header, payload):
    return TENANTS.get(payload.get("tenant"))


async def async_tenant_secret(request, header, payload):
    await asyncio.sleep(0)
    if request is not None:
        assert request.path in ("/me", "/login", "/verify")
    return TENANTS.get(payload.get("tenant"))


@pytest.mark.parametrize("secret", [tenant_secret, async_tenant_secret])
def test_a_secret_function_picks_the_key_per_tenant(secret):
    app = make_app(secret=secret)
    token = app.inject_sync("POST", "/login", payload={"tenant": "acme", "sub": "a"}).json()
    token = token["token"]
    assert pyjwt.decode(token, TENANTS["acme"], algorithms=["HS256"])["sub"] == "a"
    assert answer(app, headers=bearer(token)).json()["user"]["tenant"] == "acme"
    # Signed with acme's key but claiming globex: globex's key refuses it.
    wrong = forge(HS256, {"tenant": "globex"}, secret=TENANTS["acme"].encode())
    assert_error(answer(app, headers=bearer(wrong)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid("Signature verification failed"))
    unknown = forge(HS256, {"tenant": "initech"})
    assert_error(answer(app, headers=bearer(unknown)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID", invalid("no key for this token"))


def test_a_sync_secret_function_also_serves_app_jwt():
    app = booted(make_app(secret=tenant_secret))
    token = app.jwt.sign({"tenant": "globex"})
    assert app.jwt.verify(token)["tenant"] == "globex"


def test_an_async_secret_function_needs_the_awaitable_methods():
    app = booted(make_app(secret=async_tenant_secret))
    with pytest.raises(TypeError, match="reply.jwt_sign"):
        app.jwt.sign({"tenant": "acme"})
    token = pyjwt.encode({"tenant": "acme"}, TENANTS["acme"], algorithm="HS256")
    with pytest.raises(TypeError, match="verify_async"):
        app.jwt.verify(token)
    assert asyncio.run(app.jwt.verify_async(token))["tenant"] == "acme"


def test_a_secret_function_may_give_a_key_pair(keys):
    def pair(request, header, payload):
        return keys["ec256"]

    app = make_app(secret=pair, algorithms=["ES256"])
    token = app.inject_sync("POST", "/login", payload={"sub": "p"}).json()["token"]
    assert pyjwt.decode(token, keys["ec256"]["public"], algorithms=["ES256"])["sub"] == "p"
    assert answer(app, headers=bearer(token)).json()["user"]["sub"] == "p"
    # A public PEM as an HMAC secret is refused by PyJWT, whatever the function gives.
    confused = forge(HS256, {"sub": "p"}, secret=keys["ec256"]["public"].encode())
    assert answer(app, headers=bearer(confused)).json()["code"] == \
        "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID"


# --- require_role -------------------------------------------------------------------------
def test_require_role_is_reachable_on_the_plugin():
    from fastcore.plugins import jwt as again
    assert again.require_role is jwt.require_role
    assert callable(jwt.require_role("admin"))


@pytest.mark.parametrize("claims, status", [
    ({"role": "admin"}, 200), ({"role": ["user", "admin"]}, 200), ({"role": "user"}, 403),
    ({"role": ["user"]}, 403), ({}, 403), ({"role": [{"x": 1}, 5]}, 403), ({"role": 7}, 403),
])
def test_require_role_checks_the_role_claim(claims, status):
    app = make_app()
    response = answer(app, "/admin", headers=bearer(forge(HS256, claims)))
    if status == 200:
        assert (response.status_code, response.text) == (200, "welcome")
    else:
        assert_error(response, 403, "FC_ERR_JWT_FORBIDDEN", "Requires role admin")


def test_require_role_with_several_roles_and_another_claim():
    app = fastcore.App()
    app.register(jwt, secret=SECRET)

    async def routes(app, opts):
        app.add_hook("on_request", app.jwt.authenticate)
        app.get("/edit", lambda request, reply: "edited",
                pre_handler=[jwt.require_role("admin", "editor", claim="groups")])

    app.register(routes)
    assert answer(app, "/edit", headers=bearer(forge(HS256, {"groups": ["editor"]}))).text == \
        "edited"
    assert_error(answer(app, "/edit", headers=bearer(forge(HS256, {"role": "admin"}))), 403,
                 "FC_ERR_JWT_FORBIDDEN", "Requires role admin or editor")


def test_require_role_reads_attributes_of_a_formatted_user():
    class User:
        def __init__(self, payload):
            self.role = payload.get("kind")

    app = make_app(formatter=User)
    assert answer(app, "/admin", headers=bearer(forge(HS256, {"kind": "admin"}))).status_code \
        == 200
    assert answer(app, "/admin", headers=bearer(forge(HS256, {"role": "admin"}))).status_code \
        == 403


def test_require_role_without_a_user_is_403():
    app = fastcore.App()
    app.register(jwt, secret=SECRET)
    app.get("/x", lambda request, reply: "x", pre_handler=[jwt.require_role("admin")])
    assert_error(answer(app, "/x"), 403, "FC_ERR_JWT_FORBIDDEN", "Requires role admin")


@pytest.mark.parametrize("roles, claim", [((), "role"), (("",), "role"), ((1,), "role"),
                                          (("admin",), ""), (("admin",), None)])
def test_require_role_refuses_bad_arguments(roles, claim):
    with pytest.raises(TypeError):
        jwt.require_role(*roles, claim=claim)


# --- options at register ------------------------------------------------------------------
BAD_OPTIONS = [
    ({"secrets": SECRET}, "unknown option(s) secrets"),
    ({"secret": None}, "secret is required"),
    ({"secret": 42}, "secret is a str or bytes key"),
    ({"secret": ""}, "secret is empty"),
    ({"secret": {"private": "x", "other": "y"}, "algorithms": ["RS256"]}, "secret is {"),
    ({"secret": {}, "algorithms": ["RS256"]}, "secret is {"),
    ({"secret": {"public": "not a pem"}, "algorithms": ["RS256"]},
     "secret[\"public\"] is not a key for RS256"),
    ({"secret": "KEYS:ec256:private", "algorithms": ["ES256"]}, "algorithms: a str or bytes"),
    ({"secret": "KEYS:rsa:public"}, "secret is not a key for HS256: The specified key is an "
                                    "asymmetric key"),
    ({"secret": "KEYS:rsa"}, "algorithms is required with asymmetric keys"),
    ({"secret": "KEYS:rsa", "algorithms": ["HS256"]}, "algorithms: asymmetric keys take"),
    ({"secret": "KEYS:rsa", "algorithms": ["ES256"]}, "secret[\"private\"] is not a key for ES256"),
    ({"secret": "KEYS:rsa:public-as-private", "algorithms": ["RS256"]},
     "secret[\"private\"] is a public key"),
    ({"secret": SECRET, "algorithms": "HS256"}, "algorithms is a non-empty list"),
    ({"secret": SECRET, "algorithms": []}, "algorithms is a non-empty list"),
    ({"secret": SECRET, "algorithms": ["none"]}, "algorithms: \"none\" is never allowed"),
    ({"secret": SECRET, "algorithms": ["HS257"]}, "algorithms: unknown algorithm 'HS257'"),
    ({"secret": tenant_secret, "algorithms": ["HS256", "RS256"]}, "algorithms mixes HMAC"),
    ({"secret": SECRET, "algorithms": ["RS256"]}, "algorithms: a str or bytes secret"),
    ({"sign": "fast"}, "sign is a dict"),
    ({"sign": {"expiresIn": 60}}, "sign: unknown option(s) expiresIn"),
    ({"sign": {"algorithm": "HS512"}}, "sign.algorithm 'HS512' is not one of algorithms"),
    ({"sign": {"expires_in": 0}}, "sign.expires_in is a number of seconds > 0"),
    ({"sign": {"expires_in": True}}, "sign.expires_in"),
    ({"sign": {"expires_in": "1h"}}, "sign.expires_in"),
    ({"sign": {"not_before": -1}}, "sign.not_before is a number of seconds >= 0"),
    ({"sign": {"issuer": 1}}, "sign.issuer is a str"),
    ({"sign": {"subject": 1}}, "sign.subject is a str"),
    ({"sign": {"key_id": 1}}, "sign.key_id is a str"),
    ({"sign": {"audience": []}}, "sign.audience is a str or a non-empty list"),
    ({"sign": {"header": {"alg": "none"}}}, "sign.header cannot set \"alg\""),
    ({"sign": {"header": ["x"]}}, "sign.header is a dict"),
    ({"verify": []}, "verify is a dict"),
    ({"verify": {"algorithms": ["HS256"]}}, "verify: unknown option(s) algorithms"),
    ({"verify": {"issuer": 5}}, "verify.issuer is a str"),
    ({"verify": {"audience": [1]}}, "verify.audience is a str"),
    ({"verify": {"subject": 5}}, "verify.subject is a str"),
    ({"verify": {"leeway": -1}}, "verify.leeway is a number of seconds >= 0"),
    ({"verify": {"leeway": float("nan")}}, "verify.leeway"),
    ({"verify": {"required_claims": "exp"}}, "verify.required_claims is a list"),
    ({"cookie": ""}, "cookie is the name of a cookie"),
    ({"cookie": "a b"}, "cookie is the name of a cookie"),
    ({"trusted": True}, "trusted is a function"),
    ({"formatter": "user"}, "formatter is a function"),
    ({"namespace": ""}, "namespace is a non-empty str"),
    ({"namespace": 3}, "namespace is a non-empty str"),
    ({"secret": None, "jwks_url": "ftp://keys.example/jwks.json", "algorithms": ["RS256"]},
     "jwks_url is an http:// or https:// URL"),
    ({"jwks_url": "https://keys.example/jwks.json", "algorithms": ["RS256"]},
     "secret and jwks_url are exclusive"),
    ({"secret": None, "jwks_url": "https://keys.example/jwks.json"},
     "algorithms is required with asymmetric keys"),
    ({"secret": None, "jwks_url": "https://keys.example/jwks.json", "algorithms": ["HS256"]},
     "algorithms: asymmetric keys take"),
]


@pytest.mark.parametrize("options, message", BAD_OPTIONS)
def test_bad_options_are_refused_at_register(keys, options, message):
    options = {"secret": SECRET} | options
    secret = options["secret"]
    if isinstance(secret, str) and secret.startswith("KEYS:"):
        _, family, *part = secret.split(":")
        if part == ["public-as-private"]:
            options["secret"] = {"private": keys[family]["public"]}
        else:
            options["secret"] = keys[family][part[0]] if part else keys[family]
    app = fastcore.App()
    with pytest.raises(fastcore.errors.InvalidOptionError) as info:
        app.register(jwt, **options)
    assert info.value.code == "FC_ERR_INVALID_OPTION"
    assert str(info.value).startswith("jwt: " + message), str(info.value)


def test_register_fills_in_the_defaults(keys):
    app = fastcore.App()
    app.register(jwt, secret=SECRET)
    app.register(jwt, secret=keys["ed25519"], algorithms=["EdDSA"], namespace="ed",
                 sign={"expires_in": 60}, verify={"audience": ["a"]})
    booted(app)
    assert app.jwt[None].algorithms == ("HS256",) and app.jwt["ed"].algorithms == ("EdDSA",)
    token = app.jwt["ed"].sign({"aud": "a"})
    assert app.jwt["ed"].verify(token)["aud"] == "a"
    assert app.jwt["ed"].decode(token, complete=True)["header"]["alg"] == "EdDSA"


# --- tokens verified before ------------------------------------------------------------------
def test_a_token_verified_before_is_accepted_until_it_expires_then_refused():
    app = make_app()
    token = forge(HS256, {"sub": "ann", "exp": int(time.time()) + 1})
    assert answer(app, headers=bearer(token)).json() == {"user": {"sub": "ann",
                                                                  "exp": ANY_INT}}
    assert answer(app, headers=bearer(token)).status_code == 200      # from the cache
    deadline = time.monotonic() + 5
    while answer(app, headers=bearer(token)).status_code == 200:
        assert time.monotonic() < deadline, "an expired token was still accepted"
    assert_error(answer(app, headers=bearer(token)), 401,
                 "FC_ERR_JWT_AUTHORIZATION_TOKEN_EXPIRED", "Authorization token expired")


def test_each_request_gets_its_own_copy_of_a_cached_payload():
    app = make_app()

    async def routes(app, opts):
        @app.get("/mutate", on_request=[app.jwt.authenticate])
        async def mutate(request, reply):
            before = dict(request.user["roles"])
            request.user["roles"]["admin"] = True
            return before

    app.register(routes)
    token = forge(HS256, {"sub": "ann", "roles": {"reader": True}})
    for _ in range(3):
        assert answer(app, "/mutate", headers=bearer(token)).json() == {"reader": True}


@pytest.mark.parametrize("cache", [0, 1])
def test_a_forged_token_is_refused_whatever_was_verified_before(cache):
    app = make_app(verify={"cache": cache})
    good = forge(HS256, {"sub": "ann"})
    assert answer(app, headers=bearer(good)).status_code == 200
    forged = forge(HS256, {"sub": "ann"}, secret=OTHER.encode())
    tampered = good.rsplit(".", 1)[0] + "." + forged.rsplit(".", 1)[1]
    for token in (forged, tampered, good[:-2] + ("AA" if good[-2:] != "AA" else "BB")):
        assert answer(app, headers=bearer(token)).status_code == 401
    assert answer(app, headers=bearer(good)).status_code == 200


@pytest.mark.parametrize("cache", [-1, True, 1.5, "10"])
def test_verify_cache_must_be_a_count(cache):
    with pytest.raises(fastcore.errors.InvalidOptionError, match="verify.cache"):
        fastcore.App().register(jwt, secret=SECRET, verify={"cache": cache})


class _AnyInt:
    def __eq__(self, other):
        return isinstance(other, int)


ANY_INT = _AnyInt()
