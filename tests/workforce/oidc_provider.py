"""A real OpenID Connect provider for tests, built with authlib's server side
(`authlib.oauth2.AuthorizationServer`, the authorization-code grant with PKCE required,
`authlib.oidc.core.OpenIDCode`) as a small Starlette app served by uvicorn on 127.0.0.1:
discovery, JWKS, authorize, token and userinfo endpoints, RS256 ID tokens.

Who is signed in at the provider is `provider.person` (the authorize endpoint consents for
them at once). What a hostile or broken provider does is set on it: `id_token_claims`
(claims laid over the ID token's: a wrong audience, issuer, nonce, an expiry in the past),
`tamper` ("payload": the signed token's payload altered afterwards; "foreign_key": signed
by a key the JWKS does not hold; "alg_none": unsigned; "garbage": not a JWT),
`discovery_issuer` (the issuer its discovery document names) and `userinfo_claims`.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "profile", "email", "groups"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    person: dict[str, Any]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class _Payload(OAuth2Payload):
    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._values.items()}

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return defaultdict(list, self._values)


class _Request(OAuth2Request):
    def __init__(self, request: Request, form: dict[str, list[str]]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self._args: dict[str, list[str]] = defaultdict(list)
        for k, v in request.query_params.multi_items():
            self._args[k].append(v)
        self._form = form
        values: dict[str, list[str]] = defaultdict(list)
        for source in (self._args, form):
            for k, vs in source.items():
                values[k].extend(vs)
        self.payload = _Payload(dict(values))

    @property
    def args(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._args.items()}

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._form.items()}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestProvider:
    """The provider's state and its HTTP app; `url` is its issuer."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"})
        # Same kid, not published: what a forger would sign with.
        self.rogue_key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig"})
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.person: dict[str, Any] | None = None
        self.id_token_claims: dict[str, Any] = {}
        self.userinfo_claims: dict[str, Any] = {}
        self.tamper: str | None = None
        self.discovery_issuer: str | None = None
        self.token_requests: list[dict[str, str]] = []
        # RP-initiated logout: offered unless a test takes it away; the calls it got.
        self.offers_end_session = True
        self.end_sessions: list[dict[str, str]] = []
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.authorization = self._authorization_server()

    # -- authlib's server side ----------------------------------------------------------

    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> Client | None:
                return provider.clients.get(client_id)

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                provider.access_tokens[token["access_token"]] = request.user

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

            def create_oauth2_request(self, request: Any) -> OAuth2Request:
                return request  # already made by the endpoint (it read the body)

            def create_json_request(self, request: Any) -> Any:
                return request

            def handle_response(self, status: int, body: Any, headers: Any) -> Response:
                headers = dict(headers)
                if isinstance(body, dict):
                    headers.pop("Content-Type", None)
                    return JSONResponse(body, status_code=status, headers=headers)
                return Response(body or "", status_code=status, headers=headers)

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.get_client_id(),
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=request.scope or "",
                    person=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found is not None and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> dict[str, Any]:
                return authorization_code.person

        class OpenID(OpenIDCode):
            def resolve_client_private_key(self, client: Client) -> Any:
                return provider.key

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.url, "aud": [client.get_client_id()]}

            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def generate_user_info(self, user: dict[str, Any], scope: str) -> UserInfo:
                # Laid over the standard claims: how tests make a token wrong.
                return UserInfo({**user, **provider.id_token_claims})

            def encode_id_token(self, token: dict[str, Any], request: OAuth2Request) -> str:
                signed: str = super().encode_id_token(token, request)
                return provider._tampered(signed)

        server = Server()
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(24))
        )
        server.register_grant(CodeGrant, [CodeChallenge(required=True), OpenID(require_nonce=True)])
        return server

    def _tampered(self, signed: str) -> str:
        if self.tamper == "payload":
            header, payload, signature = signed.split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            claims["groups"] = ["admins"]  # what an attacker would give themselves
            return ".".join([header, _b64(json.dumps(claims).encode()), signature])
        if self.tamper == "foreign_key":
            header, payload, _ = signed.split(".")
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return jwt.encode({"alg": "RS256", "kid": "key-1"}, claims, self.rogue_key)
        if self.tamper == "alg_none":  # the same claims, unsigned
            _, payload, _ = signed.split(".")
            return f"{_b64(json.dumps({'alg': 'none'}).encode())}.{payload}."
        if self.tamper == "garbage":
            return "not-a-jwt"
        return signed

    # -- HTTP ---------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.discovery_issuer or self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                **(
                    {"end_session_endpoint": f"{self.url}/logout"}
                    if self.offers_end_session
                    else {}
                ),
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def _authorize(self, request: Request) -> Response:
        oauth_request = _Request(request, {})
        grant = self.authorization.get_consent_grant(oauth_request, end_user=self.person)
        return self.authorization.create_authorization_response(
            oauth_request, grant_user=self.person, grant=grant
        )

    async def _token(self, request: Request) -> Response:
        form: dict[str, list[str]] = defaultdict(list)
        for k, v in (await request.form()).multi_items():
            form[k].append(str(v))
        self.token_requests.append({k: v[0] for k, v in form.items()})
        return self.authorization.create_token_response(_Request(request, dict(form)))

    async def _userinfo(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        person = self.access_tokens.get(auth.removeprefix("Bearer ").strip())
        if not auth.startswith("Bearer ") or person is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({**person, **self.userinfo_claims})

    async def _end_session(self, request: Request) -> Response:
        """Ends the person's session here and sends the browser back where the client
        asked, once the ID token it hints with is one this provider signed."""
        params = dict(request.query_params)
        self.end_sessions.append(params)
        try:
            jwt.decode(params.get("id_token_hint", ""), KeySet([self.key]))
        except Exception:  # noqa: BLE001 - any unreadable hint is refused
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        return Response(status_code=302, headers={"location": params["post_logout_redirect_uri"]})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo),
                Route("/logout", self._end_session),
            ]
        )

    def start(self) -> TestProvider:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(self.app(), log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.time() + 20
        while not self._server.started:
            assert time.time() < deadline, "the test OIDC provider did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)

    def register_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = Client(client_id, client_secret, [redirect_uri])
