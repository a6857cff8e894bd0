"""Page forms. Field rules come from the same modules the API uses."""

from typing import Any

from flask import current_app, request
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from authapp.accounts import usernames

ADDRESS_INPUT = {"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}


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
    email = EmailField(
        "Email address",  # required only with EMAIL_REQUIRED, which users.register checks
        description="For resetting a forgotten password; we mail a link to confirm it.",
        render_kw=ADDRESS_INPUT)
    password = PasswordField(
        "Password", validators=[DataRequired()],
        description="At least 8 characters; a few unrelated words work well.",
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat password",
                            validators=[DataRequired(), EqualTo("password", "Passwords differ.")],
                            render_kw={"autocomplete": "new-password"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not current_app.config["EMAIL_REQUIRED"]:
            self.email.label.text += " (optional)"


def _new_password(description: str) -> PasswordField:
    return PasswordField("New password", validators=[DataRequired()], description=description,
                         render_kw={"autocomplete": "new-password"})


def _repeat_new_password() -> PasswordField:
    return PasswordField("Repeat new password",
                         validators=[DataRequired(), EqualTo("new_password", "Passwords differ.")],
                         render_kw={"autocomplete": "new-password"})


class PasswordForm(PageForm):
    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = _new_password("At least 8 characters. Every other device will be signed out.")
    confirm = _repeat_new_password()


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


def _address_field(label: str, description: str | None = None) -> EmailField:
    """An address field; its syntax is checked by the service, beside the other rules."""
    return EmailField(label, validators=[DataRequired("Enter your email address.")],
                      description=description, render_kw=ADDRESS_INPUT)


class ForgotPasswordForm(PageForm):
    email = _address_field("Email address", "The verified address of your account.")


class ResetPasswordForm(PageForm):
    new_password = _new_password("At least 8 characters. Every device will be signed out.")
    confirm = _repeat_new_password()


class EmailChangeForm(PageForm):
    email = _address_field("New email address",
                           "We mail a link to it; your address changes once you open it.")


def attach_errors(form: FlaskForm, errors: dict[str, list[str]]) -> None:
    """Show a service's validation messages beside the matching form fields."""
    for name, messages in errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + messages
