"""Page forms. Field rules come from the same modules the API uses."""

from flask import request
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from authapp.accounts import usernames


class PageForm(FlaskForm):
    """Reads the posted form only: a JSON body belongs to the API and its strict reader."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            return None if request.is_json else super().wrap_formdata(form, formdata)


class LoginForm(PageForm):
    username = StringField("Username", validators=[DataRequired()],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class RegisterForm(PageForm):
    username = StringField(
        "Username",
        validators=[DataRequired()],  # the rest is users.register, shown with the others
        description=(f"{usernames.MIN_LENGTH}–{usernames.MAX_LENGTH} letters, digits, "
                     "'.', '_' or '-'."),
        render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(
        "Password", validators=[DataRequired()],
        description="At least 8 characters; a few unrelated words work well.",
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat password",
                            validators=[DataRequired(), EqualTo("password", "Passwords differ.")],
                            render_kw={"autocomplete": "new-password"})


class PasswordForm(PageForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(
        "New password", validators=[DataRequired()],
        description="At least 8 characters. Every other device will be signed out.",
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(),
                                        EqualTo("new_password", "Passwords differ.")],
                            render_kw={"autocomplete": "new-password"})


class ActionForm(PageForm):
    """A button that changes state: carries only the CSRF token."""


def focus_field(form: FlaskForm, default: str | None = None) -> str | None:
    """The field to ``autofocus``: the first one with an error, else ``default``.

    Server-side, so focus lands on the problem after a failed submit without JavaScript.
    """
    for field in form:
        if field.errors and field.type not in ("HiddenField", "CSRFTokenField"):
            return field.name
    return default
