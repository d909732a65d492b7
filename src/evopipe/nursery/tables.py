"""Nursery and factory tables (created by :mod:`evopipe.nursery.migrations`; a change needs a
new migration).

``nursery_certifications``: one row per ``evopipe nursery run`` with each stage's gate result;
``factory_items``: one row per request of a factory batch (its progress, so a killed batch
resumes where it stopped).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

nursery_certifications = Table(
    "nursery_certifications",
    metadata,
    Column("cert_id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("candidate_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("stages_json", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_nursery_certifications_candidate", "candidate_id"),
)

factory_items = Table(
    "factory_items",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("request", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("name", String(100), nullable=True),
    Column("candidate_id", String(64), nullable=True),
    Column("version", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)

NURSERY_TABLES = (nursery_certifications, factory_items)
