"""The sign-in form."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired("Enter your username"), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=256)])
