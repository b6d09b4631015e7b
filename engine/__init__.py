"""Muster engine: definitions, override resolution, instances, work items and audit.

Pure Python over SpiffWorkflow and SQLAlchemy. Never imports Flask, Werkzeug, marshmallow or web.
"""
