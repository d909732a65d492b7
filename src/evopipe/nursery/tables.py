"""Nursery and factory tables (created by :mod:`evopipe.nursery.migrations`; a change needs a
new migration).

``nursery_certifications``: one row per ``evopipe nursery run`` with each stage's gate result;
``factory_items``: one row per request of a factory batch (its progress, so a killed batch
resumes where it stopped).
"""

from __future__ import annotations

from evopipe.store.columns import Schema

schema = Schema()

nursery_certifications = schema.table("""
    nursery_certifications: one row per nursery run, with each stage's gate result
    cert_id       str(32)   key
    name          str(100)
    candidate_id  str(64)
    status        str(16)
    stages_json   text
    created_at    float
    index ix_nursery_certifications_candidate (candidate_id)
""")

factory_items = schema.table("""
    factory_items: one row per request of a factory batch, so a killed batch resumes
    batch_id      str(64)   key
    idx           int       key
    request       text
    status        str(16)
    name          str(100)  null
    candidate_id  str(64)   null
    version       int       null
    error         text      null
    updated_at    float
""")

NURSERY_TABLES = (nursery_certifications, factory_items)
