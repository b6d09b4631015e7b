"""marshmallow schemas of the REST API: what each call accepts and returns.

They are the single source of the OpenAPI document (``web.api.openapi``); views load input with them
and dump output with them, so the document cannot drift from the behaviour.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

KEY = validate.Regexp(r"^[A-Za-z0-9_.-]{1,128}$", error="Use 1 to 128 letters, digits, '_', '.' or '-'.")
FORCE = validate.Regexp(r"^[A-Za-z0-9_-]{1,16}$", error="Use a force code: 1 to 16 letters, digits, _ or -.")
TEXT = validate.Regexp(r"^[^\x00]*$", error="Text cannot contain NUL characters.")


class StrictSchema(Schema):
    """Unknown fields are errors, so a typo in a field name is reported instead of ignored."""

    class Meta:
        unknown = RAISE


# --- errors ---------------------------------------------------------------------------------------


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "What went wrong and what to do"})
    details = fields.Raw(allow_none=True, metadata={
        "description": "Errors by field ({field: [messages]}), or a list of definition problems"})


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


# --- tokens ---------------------------------------------------------------------------------------


class TokenRequest(StrictSchema):
    username = fields.String(required=True, validate=[validate.Length(min=1, max=80), TEXT])
    password = fields.String(required=True, validate=[validate.Length(min=1, max=1024), TEXT], load_only=True)


class Token(Schema):
    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'"})
    expires_at = fields.DateTime(required=True)


# --- processes and definitions --------------------------------------------------------------------


class Process(Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    scope = fields.String(required=True,
                          metadata={"description": "'common' or the force whose override wins"})
    start_form = fields.String(allow_none=True)


class Definition(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "process, decision or form"})
    key = fields.String(required=True)
    scope = fields.String(required=True)
    version = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    filename = fields.String(required=True)
    content_hash = fields.String(required=True)
    deployed_at = fields.DateTime(required=True)
    deployed_by = fields.String(allow_none=True)


class DeployForm(StrictSchema):
    force = fields.String(validate=FORCE, metadata={
        "description": "Deploy into this force's scope (an override); omit for 'common'"})


class DeployUpload(DeployForm):
    """The multipart body of POST /definitions: the form fields plus the files (read from request.files)."""

    files = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}), required=True,
                        validate=validate.Length(min=1, max=50),
                        metadata={"description": ".bpmn, .dmn and form .json files (repeat the field)"})


class DeployedItem(Schema):
    kind = fields.String(required=True)
    key = fields.String(required=True)
    scope = fields.String(required=True)
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "new, or unchanged (same content)"})


class Deployment(Schema):
    deployed = fields.List(fields.Nested(DeployedItem), required=True)


# --- work items -----------------------------------------------------------------------------------


class WorkItem(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    process = fields.String(required=True)
    task = fields.String(required=True, metadata={"description": "The BPMN task id"})
    title = fields.String(required=True)
    lane = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True, metadata={"description": "Username of the holder"})
    candidate_role = fields.String(allow_none=True)
    candidate_user = fields.String(allow_none=True, metadata={"description": "Username it is addressed to"})
    force = fields.String(required=True)
    form_key = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(allow_none=True)
    priority = fields.Integer(required=True, metadata={"description": "1 high, 2 normal, 3 low"})
    status = fields.String(required=True, metadata={"description": "open, completed or cancelled"})


class WorkItemDetail(WorkItem):
    form = fields.Dict(allow_none=True, metadata={"description": "The JSON Schema of the item's form"})
    draft = fields.Dict(allow_none=True)


class TaskQuery(StrictSchema):
    scope = fields.String(load_default="all", validate=validate.OneOf(["mine", "group", "all"]),
                          metadata={"description": "mine: assigned to me; group: claimable by my roles"})
    process = fields.String(validate=KEY)
    due = fields.String(validate=validate.OneOf(["overdue", "soon"]))
    sort = fields.String(load_default="due", validate=validate.OneOf(["due", "priority", "age"]))


class CompleteRequest(StrictSchema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "The form's fields"})


class InstanceStatus(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    status = fields.String(required=True)


class CompletionResult(Schema):
    instance = fields.Nested(InstanceStatus, required=True)
    item = fields.Nested(WorkItem, required=True)
    next_items = fields.List(fields.Nested(WorkItem), required=True,
                             metadata={"description": "Work items the completion created"})


# --- instances ------------------------------------------------------------------------------------


class StartRequest(StrictSchema):
    process = fields.String(required=True, validate=KEY)
    data = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "The start form's fields"})
    business_key = fields.String(allow_none=True, validate=[validate.Length(min=1, max=200), TEXT])


class InstanceQuery(StrictSchema):
    mine = fields.Boolean(load_default=True,
                          validate=validate.Equal(True, error="Only mine=1 (your own instances) is offered."),
                          metadata={"description": "Only true (the caller's instances) is supported"})


class Resolution(Schema):
    kind = fields.String(required=True)
    key = fields.String(required=True)
    scope = fields.String(required=True)
    version = fields.Integer(required=True)
    id = fields.Integer(allow_none=True)
    hash = fields.String()


class InstanceSummary(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    process = fields.String(required=True)
    version = fields.Integer(allow_none=True)
    force = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True,
                           metadata={"description": "running, waiting, error, completed or cancelled"})
    business_key = fields.String(allow_none=True)
    current_step = fields.String(allow_none=True)
    started_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(allow_none=True)


class Instance(InstanceSummary):
    started_by = fields.String(allow_none=True, metadata={"description": "Username of the requester"})
    error_message = fields.String(allow_none=True)
    summary = fields.Dict(required=True, metadata={"description": "Outcome fields once finished"})
    open_work_items = fields.List(fields.Nested(WorkItem), required=True)
    resolution = fields.List(fields.Nested(Resolution), required=True,
                             metadata={"description": "The definition versions pinned at start"})


class AuditEvent(Schema):
    seq = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.String(required=True)
    action = fields.String(required=True)
    task = fields.String(allow_none=True)
    work_item_id = fields.Integer(allow_none=True)
    data = fields.Dict(required=True)


def listing(item: type[Schema], name: str) -> type[Schema]:
    """A ``{"items": [item, ...]}`` schema named ``name`` (one per item type, for the document)."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item), required=True)}, name=name)


ProcessList = listing(Process, "ProcessList")
DefinitionList = listing(Definition, "DefinitionList")
WorkItemList = listing(WorkItem, "WorkItemList")
InstanceList = listing(InstanceSummary, "InstanceList")
History = listing(AuditEvent, "History")
