"""The jwt plugin's options, checked once at ``register``, and its keys.

``check`` is the plugin's ``options=`` function: it raises ``TypeError`` or
``ValueError`` naming the option (``register`` turns them into
``FC_ERR_INVALID_OPTION``) and returns the options with their defaults filled
in: ``algorithms`` a tuple, ``sign`` and ``verify`` dicts holding every key.
``load_keys`` turns a str/bytes or ``{"private", "public"}`` secret into the
key objects PyJWT signs and verifies with; ``check`` calls it to prove the
keys suit every algorithm, the plugin calls it again at boot to keep them.
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple

from jwt import PyJWTError, get_algorithm_by_name
from jwt.algorithms import get_default_algorithms, requires_cryptography

KNOWN_ALGORITHMS = frozenset(get_default_algorithms()) - {"none"}
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})

DEFAULTS: dict[str, Any] = {
    "secret": None, "algorithms": None, "sign": None, "verify": None, "cookie": None,
    "trusted": None, "formatter": None, "namespace": None, "jwks_url": None,
}
SIGN_DEFAULTS: dict[str, Any] = {
    "algorithm": None, "expires_in": None, "not_before": None, "issuer": None,
    "audience": None, "subject": None, "key_id": None, "header": None,
}
VERIFY_DEFAULTS: dict[str, Any] = {
    "issuer": None, "audience": None, "subject": None, "leeway": 0,
    "required_claims": (), "cache": 1000,
}

# RFC 6265 §4.1.1: a cookie name is an RFC 2616 token.
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch


class Keys(NamedTuple):
    """The prepared keys of a str/bytes or ``{"private", "public"}`` secret."""

    sign: Any
    verify: Any


def check(opts: dict) -> dict:
    """The options with defaults filled in; ``TypeError``/``ValueError`` naming a bad one."""
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    _check_source(options["secret"], options["jwks_url"])
    algorithms = options["algorithms"] = check_algorithms(options)
    load_keys(options["secret"], algorithms)
    options["sign"] = check_sign(_given(options["sign"]), algorithms)
    options["verify"] = check_verify(_given(options["verify"]))
    cookie = options["cookie"]
    if cookie is not None and (not isinstance(cookie, str) or not _COOKIE_NAME(cookie)):
        raise ValueError("cookie is the name of a cookie (a token), got %r" % (cookie,))
    for name in ("trusted", "formatter"):
        if options[name] is not None and not callable(options[name]):
            raise TypeError("%s is a function, got %r" % (name, options[name]))
    namespace = options["namespace"]
    if namespace is not None and (not isinstance(namespace, str) or not namespace):
        raise ValueError("namespace is a non-empty str, got %r" % (namespace,))
    return options


def _check_source(secret: Any, jwks_url: Any) -> None:
    if jwks_url is not None:
        if not isinstance(jwks_url, str) or not jwks_url.startswith(("http://", "https://")):
            raise ValueError("jwks_url is an http:// or https:// URL, got %r" % (jwks_url,))
        if secret is not None:
            raise ValueError("secret and jwks_url are exclusive: the key set verifies the "
                             "tokens (register another namespace to sign tokens)")
        return
    if secret is None:
        raise ValueError("secret is required (unless jwks_url is given)")
    if not isinstance(secret, (str, bytes, dict)) and not callable(secret):
        raise TypeError("secret is a str or bytes key (HS*), {\"private\": pem, \"public\": "
                        "pem} (RS*, PS*, ES*, EdDSA) or a function (request, header, "
                        "payload) -> key, got %s" % type(secret).__name__)


def check_algorithms(options: dict) -> tuple[str, ...]:
    """The allowed algorithms: given explicitly for asymmetric keys, else ``HS256``."""
    secret, algorithms = options["secret"], options["algorithms"]
    asymmetric = isinstance(secret, dict) or options["jwks_url"] is not None
    if algorithms is None:
        if asymmetric:
            raise ValueError("algorithms is required with asymmetric keys (a {\"private\", "
                             "\"public\"} secret or jwks_url), e.g. [\"RS256\"]")
        return ("HS256",)
    if isinstance(algorithms, str) or not isinstance(algorithms, (list, tuple)) \
            or not algorithms:
        raise TypeError("algorithms is a non-empty list of algorithm names, got %r"
                        % (algorithms,))
    for name in algorithms:
        if name == "none":
            raise ValueError("algorithms: \"none\" is never allowed")
        if name in requires_cryptography and name not in KNOWN_ALGORITHMS:
            raise ValueError("algorithms: %s needs cryptography: pip install "
                             "\"fastcore-http[jwt]\"" % name)
        if name not in KNOWN_ALGORITHMS:
            raise ValueError("algorithms: unknown algorithm %r (one of %s)"
                             % (name, ", ".join(sorted(KNOWN_ALGORITHMS))))
    hmac = [name for name in algorithms if name in HMAC_ALGORITHMS]
    if hmac and len(hmac) < len(algorithms):
        # RFC 8725 §3.1: a key is used with one algorithm family, so that an
        # asymmetric public key can never pass for an HMAC secret.
        raise ValueError("algorithms mixes HMAC (HS*) and asymmetric algorithms: %s"
                         % ", ".join(algorithms))
    if asymmetric and hmac:
        raise ValueError("algorithms: asymmetric keys take RS*, PS*, ES* or EdDSA, got %s"
                         % ", ".join(algorithms))
    if isinstance(secret, (str, bytes)) and not hmac:
        raise ValueError("algorithms: a str or bytes secret is an HMAC key, for HS256, "
                         "HS384 or HS512, got %s" % ", ".join(algorithms))
    return tuple(algorithms)


def load_keys(secret: Any, algorithms: tuple[str, ...]) -> Keys | None:
    """The prepared keys of a fixed secret (``None`` for a function or jwks_url)."""
    if isinstance(secret, (str, bytes)):
        if not secret:
            raise ValueError("secret is empty")
        key = _prepare(secret, algorithms, "secret")
        return Keys(key, key)
    if not isinstance(secret, dict):
        return None
    parts = set(secret)
    if not parts or parts - {"private", "public"}:
        raise ValueError("secret is {\"private\": pem, \"public\": pem} (one of them at "
                         "least), got the keys %s" % sorted(map(str, parts)))
    private = secret.get("private")
    if private is not None:
        private = _prepare(private, algorithms, "secret[\"private\"]")
        if not hasattr(private, "public_key"):
            raise ValueError("secret[\"private\"] is a public key")
    public = secret.get("public")
    if public is not None:
        public = _prepare(public, algorithms, "secret[\"public\"]")
    else:
        public = private
    if hasattr(public, "public_key"):
        public = public.public_key()
    return Keys(private, public)


def _prepare(key: Any, algorithms: tuple[str, ...], name: str) -> Any:
    for algorithm in algorithms:
        try:
            key = get_algorithm_by_name(algorithm).prepare_key(key)
        except (PyJWTError, ValueError, TypeError) as exc:
            raise ValueError("%s is not a key for %s: %s" % (name, algorithm, exc)) from exc
    return key


def check_sign(value: Any, algorithms: tuple[str, ...]) -> dict:
    """``sign`` with every key; ``algorithm`` defaults to the first of ``algorithms``."""
    options = _filled("sign", value, SIGN_DEFAULTS)
    algorithm = options["algorithm"]
    if algorithm is None:
        options["algorithm"] = algorithms[0]
    elif algorithm not in algorithms:
        raise ValueError("sign.algorithm %r is not one of algorithms (%s)"
                         % (algorithm, ", ".join(algorithms)))
    _check_seconds(options, "sign.expires_in", "expires_in", least=0, strict=True)
    _check_seconds(options, "sign.not_before", "not_before", least=0, strict=False)
    for name in ("issuer", "subject", "key_id"):
        if options[name] is not None and not isinstance(options[name], str):
            raise TypeError("sign.%s is a str, got %r" % (name, options[name]))
    options["audience"] = _str_or_strings("sign.audience", options["audience"])
    header = options["header"]
    if header is not None:
        if not isinstance(header, dict) or not all(isinstance(k, str) for k in header):
            raise TypeError("sign.header is a dict of extra header fields, got %r" % (header,))
        if "alg" in header:
            raise ValueError("sign.header cannot set \"alg\": use sign.algorithm")
    return options


def check_verify(value: Any) -> dict:
    """``verify`` with every key; what PyJWT checks beyond the signature and times."""
    options = _filled("verify", value, VERIFY_DEFAULTS)
    options["issuer"] = _str_or_strings("verify.issuer", options["issuer"])
    options["audience"] = _str_or_strings("verify.audience", options["audience"])
    if options["subject"] is not None and not isinstance(options["subject"], str):
        raise TypeError("verify.subject is a str, got %r" % (options["subject"],))
    _check_seconds(options, "verify.leeway", "leeway", least=0, strict=False)
    claims = options["required_claims"]
    if isinstance(claims, str) or not isinstance(claims, (list, tuple)) or not all(
            isinstance(claim, str) and claim for claim in claims):
        raise TypeError("verify.required_claims is a list of claim names, got %r" % (claims,))
    options["required_claims"] = tuple(claims)
    cache = options["cache"]
    if isinstance(cache, bool) or not isinstance(cache, int) or cache < 0:
        raise TypeError("verify.cache is how many verified tokens to keep, an int >= 0, "
                        "got %r" % (cache,))
    return options


def decode_arguments(verify: dict, algorithms: tuple[str, ...]) -> dict:
    """The keyword arguments of ``jwt.decode`` for these ``verify`` options, built once."""
    arguments: dict[str, Any] = {"algorithms": list(algorithms), "leeway": verify["leeway"]}
    for name in ("issuer", "audience", "subject"):
        if verify[name] is not None:
            arguments[name] = verify[name]
    if verify["required_claims"]:
        arguments["options"] = {"require": list(verify["required_claims"])}
    return arguments


def _given(value: Any) -> Any:
    return {} if value is None else value


def _filled(name: str, value: Any, defaults: dict[str, Any]) -> dict:
    if not isinstance(value, dict):
        raise TypeError("%s is a dict of options, got %r" % (name, value))
    unknown = set(value) - set(defaults)
    if unknown:
        raise TypeError("%s: unknown option(s) %s (known: %s)" % (
            name, ", ".join(sorted(map(str, unknown))), ", ".join(defaults)))
    return {**defaults, **value}


def _check_seconds(options: dict, label: str, name: str, least: float,
                   strict: bool) -> None:
    value = options[name]
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or value < least or (strict and value == least) or value == float("inf"):
        raise ValueError("%s is a number of seconds %s %g, got %r"
                         % (label, ">" if strict else ">=", least, value))


def _str_or_strings(label: str, value: Any) -> str | tuple[str, ...] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError("%s is a str or a non-empty list of str, got %r" % (label, value))

