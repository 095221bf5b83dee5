"""The service: a JSON API for machines and pages for clerks and citizens (FastAPI).

``create_app(instance)`` builds everything from an instance folder: the ledger
(``ledger.sqlite``), accounts (``service.sqlite``), the secret key and ``settings.toml``.
The API is documented at ``/docs`` (OpenAPI). Every failure is JSON with located
diagnostics (API) or a page that says what went wrong (pages); never a traceback.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from medrules.diagnostics import MedrulesError, error
from medrules.service import pages, render
from medrules.service.access import Accounts, RateLimit, secret_key
from medrules.service.errors import HTTPProblem, body, problem
from medrules.service.limits import BodyLimit, SecurityHeaders
from medrules.service.rulebooks import Rulebooks
from medrules.service.settings import Settings, load_settings
from medrules.service.store import ServiceLedger
from medrules.source import SourceFile

log = logging.getLogger("medrules.service")
HERE = Path(__file__).parent
TOKEN_AGE = 12 * 3600


class Service:
    """What every request handler reaches: settings, rulebooks, ledger, accounts, limits."""

    def __init__(self, settings: Settings, ledger_url: str | None = None, hasher=None):
        self.settings = settings
        self.rulebooks = Rulebooks(settings.rulebooks)
        self.ledger = ServiceLedger.open(ledger_url or settings.ledger or settings.instance / "ledger.sqlite",
                                         self.rulebooks)
        self.accounts = Accounts(settings.instance / "service.sqlite", hasher)
        self.secret = secret_key(settings.instance)
        self.tokens = URLSafeTimedSerializer(self.secret, salt="medrules-api")
        self.sign_in_limit = RateLimit()


def create_app(instance: str | Path, rulebooks: str | Path | None = None, ledger: str | None = None,
               hasher=None) -> FastAPI:
    """``ledger``: a ledger URL (sqlite:///…, postgresql://…) or file; default: settings, else
    ``INSTANCE/ledger.sqlite``."""
    instance = Path(instance)
    instance.mkdir(parents=True, exist_ok=True)
    settings = load_settings(instance, Path(rulebooks) if rulebooks else None)
    service = Service(settings, ledger, hasher)
    app = FastAPI(title="medrules service", version="1", docs_url=None, redoc_url=None,
                  description="Settle claims into the ledger, and explain stored decisions with citations.")
    _api_docs(app)
    app.state.service = service
    app.add_middleware(SessionMiddleware, secret_key=service.secret, session_cookie="medrules_session",
                       max_age=8 * 3600, same_site="strict", https_only=settings.secure_cookies)
    app.add_middleware(BodyLimit, limit=settings.body_limit)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(HTTPProblem)
    async def _problem(request: Request, p: HTTPProblem):
        if _wants_page(request):
            return pages.error_page(request, p)
        return JSONResponse(body(p), status_code=p.status, headers=p.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        diagnostics = [error("request", f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', 'invalid')}",
                             hint="see the request's schema at /docs") for e in exc.errors()]
        p = HTTPProblem(MedrulesError(diagnostics or [error("request", "invalid request")]), status=422)
        return await _problem(request, p)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not-found", 405: "request", 401: "auth", 403: "forbidden"}.get(exc.status_code, "request")
        return await _problem(request, HTTPProblem(MedrulesError(error(code, str(exc.detail))),
                                                   status=exc.status_code))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):  # noqa: ARG001 - never a traceback to the user
        log.exception("internal error")
        return await _problem(request, HTTPProblem(MedrulesError(error(
            "internal", f"internal error: {type(exc).__name__}", hint="please report it")), status=500))

    _api(app, service)
    pages.install(app, service)
    return app


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/docs", "/openapi", "/static/"))


# ---------------------------------------------------------------------------------------------- API
class Credentials(BaseModel):
    name: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class WhatIf(BaseModel):
    changes: list[str] = Field(min_length=1, max_length=20,
                               examples=[["claim.compliant_cost=20000", "member.category=retired"]])
    lang: Literal["zh", "en"] = "zh"


FACTS_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "a facts document (docs/facts.md): member, claims, optional opening",
    "example": {"member": {"id": "QZ-W-0005", "category": "working"}, "claims": [
        {"id": "C1", "date": "2012-01-15", "kind": "inpatient", "institution": "other_designated",
         "compliant_cost": "50000.00", "self_paid": "0.00"}]}}}}}}


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def sign_in(service: Service, request: Request, name: str, check) -> bool:
    keys = (f"ip:{client_address(request)}", f"name:{name}")
    wait = service.sign_in_limit.blocked(*keys)
    if wait:
        raise problem("rate-limit", "too many failed sign-ins; try again later",
                      hint=f"wait {int(wait) + 1} seconds", headers={"Retry-After": str(int(wait) + 1)})
    if check():
        service.sign_in_limit.succeeded(*keys)
        return True
    service.sign_in_limit.failed(*keys)
    return False


def _api(app: FastAPI, service: Service) -> None:
    def clerk(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise problem("auth", "this needs a clerk's token", hint="POST /api/token with name and password, "
                          "then send 'Authorization: Bearer TOKEN'", headers={"WWW-Authenticate": "Bearer"})
        try:
            return service.tokens.loads(token, max_age=TOKEN_AGE)["clerk"]
        except SignatureExpired:
            raise problem("auth", "the token has expired", hint="ask for a new one at POST /api/token",
                          headers={"WWW-Authenticate": "Bearer"}) from None
        except (BadSignature, KeyError, TypeError):
            raise problem("auth", "the token is not valid", headers={"WWW-Authenticate": "Bearer"}) from None

    def decision(decision_id: int):
        d = service.ledger.decision(decision_id)
        if d is None:
            raise problem("not-found", f"there is no decision {decision_id}")
        return d

    @app.post("/api/token", tags=["access"], summary="Sign in as a clerk; returns a bearer token (12 hours)")
    def token(credentials: Credentials, request: Request):
        if not sign_in(service, request, credentials.name,
                       lambda: service.accounts.check_clerk(credentials.name, credentials.password)):
            raise problem("auth", "wrong name or password")
        return {"token": service.tokens.dumps({"clerk": credentials.name}), "expires_in": TOKEN_AGE}

    @app.get("/api/rulebooks", tags=["rulebooks"], summary="The rulebooks this service settles with")
    def rulebooks():
        return {"rulebooks": [render.rulebook_summary(rb) for rb in service.rulebooks]}

    @app.get("/api/rulebooks/{key:path}/catalog", tags=["rulebooks"], response_class=PlainTextResponse,
             summary="A rulebook's catalogue (Markdown): sources, decisions, provisions and citations")
    def catalog(key: str):
        from medrules.catalog import rulebook_markdown
        rb = _rulebook(service, key)
        text = rulebook_markdown(rb.program, rb.sources[rb.program.checked.file].text)
        return PlainTextResponse(text.lstrip(), media_type="text/markdown; charset=utf-8")

    @app.get("/api/rulebooks/{key:path}", tags=["rulebooks"], summary="One rulebook")
    def one_rulebook(key: str):
        return render.rulebook_summary(_rulebook(service, key))

    @app.post("/api/rulebooks/{key:path}/settle", tags=["decisions"], openapi_extra=FACTS_BODY, status_code=200,
              summary="Settle a member's claims: facts in, decisions out, recorded in the ledger")
    async def settle(key: str, request: Request, who: str = Depends(clerk)):
        rb = _rulebook(service, key)
        source = _facts_source(await request.body(), "request body")
        outcome = await run_in_threadpool(settle_into_ledger, service, rb, source)
        return JSONResponse({"member": outcome.member, "recorded": list(outcome.recorded),
                             "decisions": [d.summary() for d in outcome.decisions]},
                            status_code=201 if outcome.recorded else 200)

    @app.get("/api/members/{member}/decisions", tags=["decisions"], summary="A member's decisions, oldest first")
    def member_decisions(member: str, who: str = Depends(clerk)):
        return {"member": member, "decisions": [d.summary() for d in service.ledger.member_decisions(member)]}

    @app.get("/api/decisions/{decision_id}", tags=["decisions"], summary="A stored decision")
    def get_decision(decision_id: int, who: str = Depends(clerk)):
        return decision(decision_id).summary()

    @app.get("/api/decisions/{decision_id}/explanation", tags=["decisions"],
             summary="The stored decision's explanation (nothing is re-evaluated)")
    def explanation(decision_id: int, view: Literal["citizen", "auditor"] = "auditor",
                    lang: Literal["zh", "en"] = "zh", format: Literal["json", "html", "markdown"] = "json",
                    who: str = Depends(clerk)):
        d = decision(decision_id)
        if format == "json":
            return d.explanation(lang)
        if format == "markdown":
            return PlainTextResponse(render.markdown(d, view, lang), media_type="text/markdown; charset=utf-8")
        page = pages.templates.get_template("explanation_page.html").render(
            **render.context(service, d, lang), view=view)
        return HTMLResponse(page)

    @app.post("/api/decisions/{decision_id}/what-if", tags=["decisions"],
              summary="What would change on this decision's facts (nothing is recorded)")
    def what_if(decision_id: int, asked: WhatIf, who: str = Depends(clerk)):
        return render.what_if(service, decision(decision_id), asked.changes, asked.lang)[0]


def _rulebook(service: Service, key: str):
    try:
        return service.rulebooks.get(key)
    except MedrulesError as exc:
        raise HTTPProblem(exc, status=404) from None


def _facts_source(raw: bytes, name: str) -> SourceFile:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise problem("encoding", f"the facts are not UTF-8 text (byte {exc.start})",
                      hint="send the facts document as UTF-8 JSON") from None
    if not text.strip():
        raise problem("request", "the request has no facts document", hint="send the facts JSON as the body")
    return SourceFile(name, text)


def settle_into_ledger(service: Service, rb, source: SourceFile):
    try:
        return service.ledger.settle(rb, source)
    except MedrulesError as exc:
        raise HTTPProblem(exc, {source.name: source} | rb.sources) from None


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>medrules service · API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/docs-init.js"></script></body></html>
"""
DOCS_INIT = "window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true});\n"


def _api_docs(app: FastAPI) -> None:
    """The OpenAPI docs at /docs, served from this machine (Swagger UI 5, which reads OpenAPI 3.1, as the
    fastapi-offline package ships it), never from a CDN: a bureau's network may reach no CDN, and the scripts
    are files, not inline, so the strict CSP allows them."""
    import fastapi_offline
    from fastapi.responses import HTMLResponse, Response
    from fastapi.staticfiles import StaticFiles as Static

    app.mount("/docs-assets", Static(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs_page() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    @app.get("/docs-init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(DOCS_INIT, media_type="text/javascript")
