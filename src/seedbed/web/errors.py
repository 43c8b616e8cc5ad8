"""The one place where errors become HTTP answers: JSON for /api, an HTML page for the UI.

MLflow paths get MLflow's shape, `{"error_code": ..., "message": ...}` (security.error_body).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from seedbed.errors import SeedbedError
from seedbed.web.security import error_body, is_api, is_mlflow
from seedbed.web.templating import render

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Log in first",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    500: "Something went wrong",
}


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    mlflow_code: str | None = None,
) -> Response:
    path = request.url.path
    if is_api(path):
        status, body = error_body(path, status, code, message, mlflow_code)
        if details is not None and not is_mlflow(path):
            body["error"]["details"] = details
        return JSONResponse(body, status_code=status)
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=TITLES.get(status, "Error"),
        message=message,
    )


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "Invalid request — " + "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(SeedbedError)
    async def seedbed_error(request: Request, exc: SeedbedError) -> Response:
        mlflow_code = getattr(exc, "mlflow_code", None)  # set by the MLflow layer's own errors
        return error_response(request, exc.status_code, exc.code, str(exc), mlflow_code=mlflow_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(
            request, 422, "invalid", _describe_validation(exc), details=jsonable(exc.errors())
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        mlflow_code = None
        if exc.status_code == 404:
            message = f"Nothing lives at {request.url.path}."
            mlflow_code = "ENDPOINT_NOT_FOUND"
        response = error_response(
            request, exc.status_code, "http_error", message, mlflow_code=mlflow_code
        )
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(OverflowError)
    async def too_large(request: Request, exc: OverflowError) -> Response:
        # a number past what the database stores (a huge id, offset or version given by hand)
        return error_response(
            request, 400, "invalid", f"A number in the request is too large: {exc}."
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            request,
            500,
            "internal",
            "seedbed hit an unexpected error; the server log has the details.",
        )


def jsonable(errors: Any) -> Any:
    """Validation errors can hold exceptions in `ctx`; keep them printable."""
    cleaned = []
    for error in errors:
        item = dict(error)
        if "ctx" in item:
            item["ctx"] = {k: str(v) for k, v in item["ctx"].items()}
        item.pop("input", None)
        cleaned.append(item)
    return cleaned
