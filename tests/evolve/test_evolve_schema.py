"""Pins the evolution tables and the registry's (``evolve`` and ``orchestrate`` migrations)."""

from __future__ import annotations

from sqlalchemy import inspect

from evopipe.store import Store

EXPECTED = {
    "evo_runs": [
        "run_id", "pipeline_name", "seed_id", "config_json", "status", "summary_json",
        "created_at", "updated_at",
    ],
    "evo_specs": ["candidate_id", "spec_json", "traits_json"],
    "evo_evaluations": [
        "candidate_id", "dataset_key", "split", "record_json", "calls", "cost_usd", "created_at",
    ],
    "evo_members": [
        "run_id", "candidate_id", "seq", "generation", "parents_json", "operators_json", "diff",
        "status",
    ],
    "evo_proposals": [
        "run_id", "generation", "slot", "operator", "parents_json", "outcome", "child_id",
        "spec_json", "feedback_id", "calls", "cost_usd",
    ],
    "evo_state": ["run_id", "generation", "population_json", "created_at"],
    "registry_versions": [
        "name", "version", "candidate_id", "spec_json", "evidence_json", "approved_by",
        "created_at",
    ],
    "registry_champions": ["name", "version", "updated_at"],
    "registry_events": ["name", "seq", "action", "from_version", "to_version", "at"],
}  # fmt: skip


def test_the_migrations_create_the_pinned_tables(store: Store) -> None:
    found = inspect(store.engine)
    for table, columns in EXPECTED.items():
        assert [c["name"] for c in found.get_columns(table)] == columns, table
