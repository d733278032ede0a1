"""The SageMaker API over HTTP: AWS JSON 1.1 requests (POST / with
`X-Amz-Target: SageMaker.<Operation>`), signed with Signature Version 4, answered ahead
of FastAPI's routing by a plain ASGI middleware (as the hot work routes are): a request
without that header goes on to the app untouched.

Errors come back in the AWS JSON shape, `{"__type": <code>, "message": ...}`, so
botocore raises `ClientError` with the code a script expects."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from truthset.api.errors import database_unavailable
from truthset.audit.transactions import set_actor as audit_actor
from truthset.errors import AppError, BadInput, Conflict, Forbidden, NotFound, Unauthorized
from truthset.sagemaker import keys
from truthset.sagemaker.auth import AwsError, IncomingRequest, verify
from truthset.sagemaker.operations import OPERATIONS, Caller
from truthset.sagemaker.shapes import check_input
from truthset.store.models import User
from truthset.workspace import Workspace

log = logging.getLogger("truthset.sagemaker")
TARGET_PREFIX = "SageMaker."
CONTENT_TYPE = b"application/x-amz-json-1.1"
MAX_BODY = 1024 * 1024
# truthset's errors as the AWS codes botocore knows them by.
CODES: tuple[tuple[type[AppError], str], ...] = (
    (NotFound, "ResourceNotFound"),
    (Conflict, "ResourceInUse"),
    (Forbidden, "AccessDeniedException"),
    (Unauthorized, "UnrecognizedClientException"),
    (BadInput, "ValidationException"),
)


class SageMakerRoutes:
    """ASGI middleware: answers SageMaker API calls, passes every other request on."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/":
            target = dict(scope["headers"]).get(b"x-amz-target", b"").decode("latin-1")
            if target.startswith(TARGET_PREFIX):
                return await self._serve(scope, receive, send, target[len(TARGET_PREFIX) :])
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, operation: str) -> None:
        body, too_large = await _read_body(receive)
        if too_large:
            status, answer = 400, _error("SerializationException", "the request is over 1 MiB")
        else:
            raw_path = scope.get("raw_path")
            incoming = IncomingRequest(
                method=scope["method"],
                path=raw_path.decode("latin-1") if raw_path else scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
                body=body,
            )
            workspace = scope["app"].state.workspace
            status, answer = await run_in_threadpool(handle, workspace, operation, incoming)
        data = json.dumps(answer).encode()
        headers = [
            (b"content-type", CONTENT_TYPE),
            (b"content-length", str(len(data)).encode()),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


def _error(code: str, message: str) -> dict[str, str]:
    return {"__type": code, "message": message}


def _message(exc: AppError) -> str:
    detail = exc.detail
    if isinstance(detail, dict) and "message" in detail:
        lines = [str(detail["message"])]
        lines += [f"line {e['line']}: {e['reason']}" for e in detail.get("errors", [])]
        return "; ".join(lines)
    return detail if isinstance(detail, str) else json.dumps(detail, default=str)


def _secret_of(ws: Workspace) -> Any:
    master = keys.master_key(ws.settings.data_dir)

    def secret_of(key_id: str) -> tuple[str, keys.KeyOwner] | None:
        with ws.db.session_scope(write=False) as session:
            return keys.key_secret(session, master, key_id)

    return secret_of


def handle(ws: Workspace, operation: str, incoming: IncomingRequest) -> tuple[int, dict[str, Any]]:
    """One call: authenticate, check the parameters against the model, run it in one
    transaction (committed before the answer), answer in the AWS JSON shape."""
    try:
        verified = verify(incoming, _secret_of(ws))
        owner: keys.KeyOwner = verified.owner
        if not owner.active:
            raise AwsError("UnrecognizedClientException", "the account of this key is disabled")
        found = OPERATIONS.get(operation)
        if found is None:
            raise AwsError(
                "UnknownOperationException",
                f"SageMaker.{operation} is not an operation this server answers; it answers "
                + ", ".join(OPERATIONS),
            )
        try:
            params = json.loads(incoming.body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AwsError("SerializationException", f"the body is not JSON: {exc}") from None
        check_input(operation, params)
        caller = Caller(
            user=User(id=owner.user_id, role=owner.role, name=owner.name, active=True),
            region=verified.region,
            host=incoming.header("host") or "",
            workspace=ws,
        )
        target = params.get("LabelingJobName")  # the audit log's (truthset.audit)
        audit_actor(
            caller.user, action=f"SageMaker.{operation}", target=target, writes=found.writes
        )
        with ws.db.session_scope(write=found.writes) as session:
            return 200, found.run(session, caller, params)
    except AwsError as exc:
        return exc.status, _error(exc.code, exc.message)
    except AppError as exc:
        code = next((c for kind, c in CODES if isinstance(exc, kind)), "ValidationException")
        if exc.status_code >= 500:
            return exc.status_code, _error("ServiceUnavailable", _message(exc))
        return 400, _error(code, _message(exc))
    except DBAPIError as exc:
        outage = database_unavailable(exc)
        if outage is not None:
            return 503, _error("ServiceUnavailable", outage.detail)
        log.exception("SageMaker.%s failed", operation)
        return 500, _error("InternalFailure", "an unexpected error occurred; see the server log")
    except Exception:
        log.exception("SageMaker.%s failed", operation)
        return 500, _error("InternalFailure", "an unexpected error occurred; see the server log")


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), size > MAX_BODY
