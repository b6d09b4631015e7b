"""JSON Schema forms: check a form definition, and validate submitted data with errors by field."""
from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from .errors import DefinitionError, InvalidInputError

MAX_FORM_BYTES = 256 * 1024


def load_form(text: str, filename: str) -> dict[str, Any]:
    """Parse and check a form definition; DefinitionError with the problem otherwise."""
    if len(text.encode()) > MAX_FORM_BYTES:
        raise DefinitionError(f"{filename}: form larger than {MAX_FORM_BYTES} bytes",
                              details=[_problem(filename, "form too large")])
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg}"
        raise DefinitionError(f"{filename}:{exc.lineno}: {msg}",
                              details=[_problem(filename, msg, line=exc.lineno)]) from exc
    if not isinstance(schema, dict) or schema.get("type") != "object":
        msg = 'a form must be a JSON Schema object with "type": "object"'
        raise DefinitionError(f"{filename}: {msg}", details=[_problem(filename, msg)])
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        msg = f"invalid JSON Schema at {where}: {exc.message}"
        raise DefinitionError(f"{filename}: {msg}", details=[_problem(filename, msg, element=where)]) from exc
    return schema


def validate_data(schema: dict[str, Any], data: Any) -> dict[str, Any]:
    """Validate ``data`` against a form; return it, or raise InvalidInputError with every error by field."""
    errors = field_errors(schema, data)
    if errors:
        count = sum(len(v) for v in errors.values())
        raise InvalidInputError(f"The form has {count} error{'s' if count != 1 else ''}.", details=errors)
    return data


def field_errors(schema: dict[str, Any], data: Any) -> dict[str, list[str]]:
    """Every validation error, keyed by the field path ('' for the whole form)."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    out: dict[str, list[str]] = {}
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path))):
        field = ".".join(str(p) for p in err.path)
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            field = ".".join(filter(None, [field, missing]))
            message = f"{_title(schema, missing)} is required"
        else:
            message = _friendly(err, schema)
        out.setdefault(field, []).append(message)
    return out


def _title(schema: dict[str, Any], name: str) -> str:
    prop = schema.get("properties", {}).get(name, {})
    return str(prop.get("title") or name.replace("_", " ").capitalize())


def _friendly(err: Any, schema: dict[str, Any]) -> str:
    v = err.validator
    if v == "format" and err.validator_value == "date":
        return "Enter a real date in the format YYYY-MM-DD"
    if v == "minimum":
        return f"Must be {err.validator_value} or more"
    if v == "maximum":
        return f"Must be {err.validator_value} or less"
    if v in ("oneOf", "enum", "const"):
        return "Choose one of the options"
    if v == "type":
        return f"Must be a {err.validator_value}"
    if v == "maxLength":
        return f"Must be {err.validator_value} characters or fewer"
    if v == "minLength":
        return "Enter a value" if err.validator_value == 1 else f"Must be at least {err.validator_value} characters"
    if v == "additionalProperties":
        return "Contains fields this form does not have"
    return str(err.message)


def _problem(filename: str, message: str, *, element: str | None = None, line: int | None = None) -> dict[str, Any]:
    return {"file": filename, "element": element, "line": line, "message": message}
