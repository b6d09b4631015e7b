"""Sign-in and sign-out pages."""
from __future__ import annotations

from flask import Response, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from engine import org
from engine.errors import NotAllowedError
from engine.models import utcnow

from ..extensions import unit_of_work
from . import bp
from .forms import SignInForm
from .guards import end_session, safe_next, start_session


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> BaseResponse | tuple[str, int, dict[str, str]]:
    """Show the form; on a good username and password start a session and go to ``?next=``."""
    if g.user is not None:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            with unit_of_work() as db:
                user = org.authenticate(db, form.username.data, form.password.data, utcnow())
        except NotAllowedError as exc:
            form.form_errors.append(exc.message)
            retry = (exc.details or {}).get("retry_after_seconds")
            if retry:
                status, headers = 429, {"Retry-After": str(retry)}
        else:
            start_session(user)
            return redirect(safe_next(request.args.get("next")))
    elif form.errors:
        status = 422
    return render_template("auth/sign_in.html", form=form), status, headers


@bp.post("/sign-out")
def sign_out() -> Response | BaseResponse:
    """End the session (a POST, so another site cannot sign people out)."""
    end_session()
    return redirect(url_for("auth.sign_in"))
