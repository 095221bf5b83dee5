"""The clerk's and the citizen's pages (Jinja2 templates, autoescaped; forms carry a CSRF token).

Sessions are signed cookies (Starlette's SessionMiddleware): ``{"clerk": name}`` or
``{"member": id}``, plus ``csrf`` and ``lang``. Signing in clears the session first.
A citizen's page looks a decision up and shows it only when it is that member's; any
other id — another member's or one that does not exist — gives the same "not found".
"""
from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from medrules.service import render
from medrules.service.errors import HTTPProblem, diagnostic_json, problem

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.autoescape = True  # every template, whatever its name
templates.env.globals["quote"] = lambda s: quote(str(s), safe="")

UI = {
    "zh": {"clerk": "经办人员", "citizen": "参保人", "sign_in": "登录", "sign_out": "退出", "name": "用户名",
           "password": "密码", "member_id": "参保人编号", "code": "查询码", "find": "查找参保人", "search": "查找",
           "settle": "结算", "facts": "事实(JSON)", "rulebook": "规则书", "decisions": "结算决定",
           "history": "历史", "issue_code": "发放查询码", "code_issued": "查询码(仅显示一次)", "what_if": "假设分析",
           "changes": "改变的事实(每行一个,如 claim.compliant_cost=20000)", "try": "试算",
           "letter": "通知书", "auditor": "审核说明", "nothing": "没有记录。", "your_claims": "您的结算",
           "resettlement": "重新结算", "current": "现行", "superseded": "已更正", "back": "返回",
           "wrong": "用户名或密码错误。", "wrong_code": "参保人编号或查询码错误。", "errors": "出错了",
           "home_intro": "医保待遇结算与说明", "members": "参保人", "before": "原", "after": "现", "change": "变化",
           "most": "影响最大的事实", "date": "就诊日期", "claim": "结算单", "total": "总费用", "funds_pay": "基金支付",
           "you_pay": "个人负担", "member_pays": "个人负担", "to_pay": "补付", "to_recover": "追回"},
    "en": {"clerk": "Clerks", "citizen": "Members", "sign_in": "Sign in", "sign_out": "Sign out", "name": "Name",
           "password": "Password", "member_id": "Member id", "code": "Access code", "find": "Find a member",
           "search": "Search", "settle": "Settle", "facts": "Facts (JSON)", "rulebook": "Rulebook",
           "decisions": "Decisions", "history": "History", "issue_code": "Issue an access code",
           "code_issued": "Access code (shown once)", "what_if": "What if",
           "changes": "Changed facts (one per line, e.g. claim.compliant_cost=20000)", "try": "Try",
           "letter": "Letter", "auditor": "Auditor's explanation", "nothing": "Nothing recorded.",
           "your_claims": "Your claims", "resettlement": "re-settlement", "current": "current",
           "superseded": "corrected", "back": "Back", "wrong": "Wrong name or password.",
           "wrong_code": "Wrong member id or access code.", "errors": "Something went wrong",
           "home_intro": "Medical-insurance settlements, explained", "members": "Members", "before": "before",
           "after": "after", "change": "change", "most": "Facts that matter most", "date": "Date of care",
           "claim": "Claim", "total": "Total cost", "funds_pay": "Funds pay", "you_pay": "You pay",
           "member_pays": "Member pays", "to_pay": "to pay", "to_recover": "to recover"},
}


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in UI:
        request.session["lang"] = asked
    return request.session.get("lang", "zh")


def _csrf(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return request.session["csrf"]


def page(request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
    lang = _lang(request)
    return templates.TemplateResponse(request, template, {
        "ui": UI[lang], "lang": lang, "csrf": _csrf(request), "clerk": request.session.get("clerk"),
        "citizen": request.session.get("member"), **values}, status_code=status)


def error_page(request: Request, p: HTTPProblem) -> HTMLResponse:
    return page(request, "error.html", status=p.status, errors=[diagnostic_json(d, p.sources) for d in p.diagnostics])


async def form(request: Request) -> dict:
    """The posted form, after its CSRF token is checked against the session's."""
    data = await request.form()
    sent = data.get("csrf")
    if not sent or not secrets.compare_digest(str(sent), request.session.get("csrf", "")):
        raise problem("forbidden", "this form has expired or did not come from this site",
                      hint="reload the page and try again", status=403)
    return {k: str(v) for k, v in data.items()}


def _fresh_session(request: Request, **values) -> None:
    lang = request.session.get("lang", "zh")
    request.session.clear()
    request.session.update(values, lang=lang, csrf=secrets.token_urlsafe(24))


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI, service) -> None:
    from medrules.service.app import settle_into_ledger, sign_in, _facts_source, _rulebook

    def clerk_only(request: Request) -> str:
        name = request.session.get("clerk")
        if not name:
            raise _Redirect("/clerk/sign-in")
        return name

    def own_decision(request: Request, decision_id: int):
        member = request.session.get("member")
        if not member:
            raise _Redirect("/citizen/sign-in")
        d = service.ledger.decision(decision_id)
        if d is None or d.member != member:  # the same answer for another member's and for no decision
            raise problem("not-found", f"there is no decision {decision_id} among your claims", status=404)
        return d

    @app.exception_handler(_Redirect)
    async def _redirect(request: Request, r: _Redirect):
        return _see_other(r.url)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return page(request, "home.html")

    # ---------------------------------------------------------------- clerks
    @app.get("/clerk/sign-in", response_class=HTMLResponse, include_in_schema=False)
    def clerk_sign_in_form(request: Request):
        return page(request, "sign_in.html", who="clerk")

    @app.post("/clerk/sign-in", response_class=HTMLResponse, include_in_schema=False)
    async def clerk_sign_in(request: Request):
        data = await form(request)
        name, password = data.get("name", "")[:200], data.get("password", "")[:1000]
        ok = await run_in_threadpool(sign_in, service, request, name,
                                     lambda: service.accounts.check_clerk(name, password))
        if not ok:
            return page(request, "sign_in.html", status=401, who="clerk", failed=True, given=name)
        _fresh_session(request, clerk=name)
        return _see_other("/clerk")

    @app.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request):
        await form(request)
        _fresh_session(request)
        return _see_other("/")

    @app.get("/clerk", response_class=HTMLResponse, include_in_schema=False)
    def clerk_home(request: Request, q: str = ""):
        clerk_only(request)
        return page(request, "clerk_home.html", q=q, members=service.ledger.members(q[:100]),
                    rulebooks=list(service.rulebooks))

    @app.post("/clerk/settle", response_class=HTMLResponse, include_in_schema=False)
    async def clerk_settle(request: Request):
        clerk_only(request)
        data = await form(request)
        try:
            rb = _rulebook(service, data.get("rulebook", ""))
            source = _facts_source(data.get("facts", "").encode(), "facts")
            outcome = await run_in_threadpool(settle_into_ledger, service, rb, source)
        except HTTPProblem as p:
            return page(request, "clerk_home.html", status=p.status, q="", members=service.ledger.members(""),
                        rulebooks=list(service.rulebooks), facts=data.get("facts", ""),
                        chosen=data.get("rulebook"), errors=[diagnostic_json(d, p.sources) for d in p.diagnostics])
        return _see_other(f"/clerk/member?id={quote(outcome.member, safe='')}")

    @app.get("/clerk/member", response_class=HTMLResponse, include_in_schema=False)
    def clerk_member(request: Request, member: str = Query(alias="id", max_length=200)):
        clerk_only(request)
        decisions = service.ledger.member_decisions(member)
        if not decisions:
            raise problem("not-found", f"no decisions are recorded for member {member}", status=404)
        superseded = {d.supersedes for d in decisions if d.supersedes}
        return page(request, "clerk_member.html", member=member, decisions=decisions, superseded=superseded,
                    titles=render.fund_titles(service, decisions[-1], _lang(request)),
                    balance=render.balance(decisions, superseded))

    @app.post("/clerk/member/access-code", response_class=HTMLResponse, include_in_schema=False)
    async def clerk_issue_code(request: Request):
        clerk = clerk_only(request)
        member = (await form(request)).get("member", "")
        if not service.ledger.member_decisions(member):
            raise problem("not-found", f"no decisions are recorded for member {member}", status=404)
        code = await run_in_threadpool(service.accounts.issue_code, member, clerk)
        return page(request, "code_issued.html", member=member, code=code)

    @app.get("/clerk/decisions/{decision_id}", response_class=HTMLResponse, include_in_schema=False)
    def clerk_decision(request: Request, decision_id: int):
        clerk_only(request)
        d = _decision(service, decision_id)
        return page(request, "decision.html", **render.context(service, d, _lang(request)))

    @app.post("/clerk/decisions/{decision_id}/what-if", response_class=HTMLResponse, include_in_schema=False)
    async def clerk_what_if(request: Request, decision_id: int):
        clerk_only(request)
        data = await form(request)
        d = _decision(service, decision_id)
        lang = _lang(request)
        changes = [line.strip() for line in data.get("changes", "").splitlines() if line.strip()][:20]
        values = render.context(service, d, lang) | {"changes": data.get("changes", "")}
        if not changes:
            return page(request, "decision.html", status=422, **values, errors=[
                {"code": "what-if", "message": UI[lang]["changes"], "hint": None, "excerpt": ""}])
        try:
            result, _ = await run_in_threadpool(render.what_if, service, d, changes, lang)
        except HTTPProblem as p:
            return page(request, "decision.html", status=p.status, **values,
                        errors=[diagnostic_json(x, p.sources) for x in p.diagnostics])
        return page(request, "decision.html", **values, what_if=result)

    @app.get("/clerk/decisions/{decision_id}/letter", response_class=HTMLResponse, include_in_schema=False)
    def clerk_letter(request: Request, decision_id: int):
        clerk_only(request)
        d = _decision(service, decision_id)
        return page(request, "letter.html", **render.context(service, d, _lang(request)))

    # ---------------------------------------------------------------- citizens
    @app.get("/citizen/sign-in", response_class=HTMLResponse, include_in_schema=False)
    def citizen_sign_in_form(request: Request):
        return page(request, "sign_in.html", who="citizen")

    @app.post("/citizen/sign-in", response_class=HTMLResponse, include_in_schema=False)
    async def citizen_sign_in(request: Request):
        data = await form(request)
        member, code = data.get("member", "")[:200], data.get("code", "")[:100]
        ok = await run_in_threadpool(sign_in, service, request, "member:" + member,
                                     lambda: service.accounts.check_code(member, code))
        if not ok:
            return page(request, "sign_in.html", status=401, who="citizen", failed=True, given=member)
        _fresh_session(request, member=member)
        return _see_other("/citizen")

    @app.get("/citizen", response_class=HTMLResponse, include_in_schema=False)
    def citizen_home(request: Request):
        member = request.session.get("member")
        if not member:
            return _see_other("/citizen/sign-in")
        decisions = service.ledger.member_decisions(member)
        superseded = {d.supersedes for d in decisions if d.supersedes}
        return page(request, "citizen_home.html", member=member,
                    decisions=[d for d in decisions if d.id not in superseded])

    @app.get("/citizen/decisions/{decision_id}", response_class=HTMLResponse, include_in_schema=False)
    def citizen_letter(request: Request, decision_id: int):
        d = own_decision(request, decision_id)
        return page(request, "letter.html", **render.context(service, d, _lang(request)))


class _Redirect(Exception):
    def __init__(self, url: str):
        self.url = url


def _decision(service, decision_id: int):
    d = service.ledger.decision(decision_id)
    if d is None:
        raise problem("not-found", f"there is no decision {decision_id}", status=404)
    return d
