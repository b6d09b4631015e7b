"""The admin forms. Choices that depend on the force (managers, units, roles) are set by the views."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional


class ForceForm(FlaskForm):
    """Add or edit a force (platform administrators only)."""

    code = StringField("Code", validators=[DataRequired("Enter a code"), Length(max=16)])
    name = StringField("Name", validators=[DataRequired("Enter the force's name"), Length(max=200)])
    parent = SelectField("Parent (for shared rules and overrides)", choices=[], validate_choice=True)
    active = BooleanField("Active (its people can sign in)", default=True)


class UserDetailsForm(FlaskForm):
    """The fields of a user that both adding and editing change."""

    full_name = StringField("Full name", validators=[DataRequired("Enter the person's full name"),
                                                     Length(max=200)])
    email = StringField("Email address (optional)", validators=[Optional(), Length(max=254)])
    manager = SelectField("Line manager", choices=[], validate_choice=True)
    org_unit = SelectField("Org unit", choices=[], validate_choice=True)
    password = PasswordField("Set a new password (optional)", validators=[Optional(), Length(max=256)])


class NewUserForm(UserDetailsForm):
    """Add a user, with their roles in their own force."""

    username = StringField("Username", validators=[DataRequired("Enter a username"), Length(max=80)])
    password = PasswordField("Password (optional: without one the person cannot sign in yet)",
                             validators=[Optional(), Length(max=256)])
    roles = SelectMultipleField("Roles in this force", choices=[], validate_choice=True)


class RolesForm(FlaskForm):
    """The roles a user holds in their own force."""

    roles = SelectMultipleField("Roles", choices=[], validate_choice=True)


class GrantForm(FlaskForm):
    """Grant a role in another force (shared-service staff)."""

    role = SelectField("Role", choices=[], validate_choice=True)
    force = SelectField("In force", choices=[], validate_choice=True)


class RevokeForm(FlaskForm):
    """Remove one cross-force grant."""

    role = StringField(validators=[DataRequired()])
    force = StringField(validators=[DataRequired()])


class OrgUnitForm(FlaskForm):
    """Add an org unit."""

    name = StringField("Name", validators=[DataRequired("Enter the unit's name"), Length(max=200)])
    parent = SelectField("Inside", choices=[], validate_choice=True)


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""
