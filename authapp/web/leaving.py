"""Leaving, for browser users: "Download my data" and "Delete my account" on /account."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_jwt_extended import unset_jwt_cookies
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired

from authapp.accounts import leaving
from authapp.api.leaving import export_response
from authapp.core.errors import InvalidCredentials
from authapp.http.client import current_client
from authapp.http.ratelimits import LOGIN, rate_limit
from authapp.web import bp
from authapp.web.forms import PageForm, focus_field
from authapp.web.reauth import recent_authentication_page
from authapp.web.signin import login_required, page_principal


class DeleteAccountForm(PageForm):
    username = HiddenField()  # the sign-in limit per account counts wrong passwords here
    confirm = StringField("Type your username to confirm", validators=[DataRequired()],
                          render_kw={"autocomplete": "off", "autocapitalize": "none"})
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})


@bp.get("/account/export")
@login_required
def download_data() -> Response:
    return export_response(leaving.export_account(page_principal(), current_client()))


@bp.route("/account/delete", methods=["GET", "POST"])
@recent_authentication_page
@rate_limit(*LOGIN)
def delete_account() -> str | Response:
    principal = page_principal()
    form = DeleteAccountForm()
    if form.validate_on_submit():
        if form.confirm.data != principal.username:
            form.confirm.errors = [f"Type {principal.username} exactly to confirm."]
        else:
            try:
                leaving.delete_account(principal, form.password.data, current_client())
            except InvalidCredentials:
                form.password.errors = ["The password is not correct."]
            else:
                flash("Your account has been deleted. Goodbye!", "success")
                response = redirect(url_for("web.index"))
                unset_jwt_cookies(response)
                return response
    form.username.data = principal.username
    status = 200 if request.method == "GET" else 422
    return render_template("delete_account.html", form=form, principal=principal,
                           focus=focus_field(form, "confirm")), status
