"""The KubeRay manifests in deploy/kuberay/ are linted: YAML, then a JSON Schema per kind.

No cluster and no network: the schemas below are closed subsets of KubeRay's ``ray.io/v1``
RayCluster CRD (field names and required fields as in ray-operator/config/crd/bases/
ray.io_rayclusters.yaml) and of Kubernetes' ``batch/v1`` Job, so a misspelt or misplaced key
fails here instead of being dropped silently by the API server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kuberay"
QUANTITY = {"type": "string", "pattern": r"^[0-9.]+(m|Ki|Mi|Gi|Ti)?$"}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "required": ["requests", "limits"],
    "properties": {
        k: {
            "type": "object",
            "additionalProperties": False,
            "required": ["cpu", "memory"],
            "properties": {"cpu": QUANTITY, "memory": QUANTITY},
        }
        for k in ("requests", "limits")
    },
}
ENV = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Z_][A-Z0-9_]*$"},
            "value": {"type": "string"},
            "valueFrom": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "secretKeyRef": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "key"],
                        "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
                    }
                },
            },
        },
        "oneOf": [{"required": ["value"]}, {"required": ["valueFrom"]}],
    },
}
NAMED = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "mountPath": {"type": "string"}},
}
CONTAINER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "image", "resources"],
    "properties": {
        "name": {"type": "string"},
        "image": {"type": "string"},
        "command": {"type": "array", "items": {"type": "string"}},
        "args": {"type": "array", "items": {"type": "string"}},
        "env": ENV,
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["containerPort"],
                "properties": {"containerPort": {"type": "integer"}, "name": {"type": "string"}},
            },
        },
        "resources": RESOURCES,
        "volumeMounts": {"type": "array", "items": {**NAMED, "required": ["name", "mountPath"]}},
    },
}
POD_TEMPLATE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["spec"],
    "properties": {
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["containers"],
            "properties": {
                "containers": {"type": "array", "minItems": 1, "items": CONTAINER},
                "restartPolicy": {"enum": ["Always", "OnFailure", "Never"]},
                "volumes": {"type": "array", "items": {"type": "object", "required": ["name"]}},
            },
        }
    },
}
METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
START_PARAMS = {"type": "object", "additionalProperties": {"type": "string"}}
RAY_CLUSTER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "ray.io/v1"},
        "kind": {"const": "RayCluster"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["headGroupSpec"],
            "properties": {
                "rayVersion": {"type": "string"},
                "headGroupSpec": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["template"],
                    "properties": {
                        "serviceType": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                        "rayStartParams": START_PARAMS,
                        "template": POD_TEMPLATE,
                    },
                },
                "workerGroupSpecs": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["groupName", "maxReplicas", "minReplicas", "template"],
                        "properties": {
                            "groupName": {"type": "string"},
                            "replicas": {"type": "integer", "minimum": 0},
                            "minReplicas": {"type": "integer", "minimum": 0},
                            "maxReplicas": {"type": "integer", "minimum": 0},
                            "rayStartParams": START_PARAMS,
                            "template": POD_TEMPLATE,
                        },
                    },
                },
            },
        },
    },
}
JOB = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "batch/v1"},
        "kind": {"const": "Job"},
        "metadata": METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["template"],
            "properties": {
                "backoffLimit": {"type": "integer", "minimum": 0},
                "template": POD_TEMPLATE,
            },
        },
    },
}
SCHEMAS = {"RayCluster": RAY_CLUSTER, "Job": JOB}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            docs.append((f"{path.name}:{doc['kind']}", doc))
    return docs


DOCS = _documents()


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[n for n, _ in DOCS])
def test_each_manifest_is_valid_against_its_kinds_schema(name: str, doc: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMAS[doc["kind"]]).validate(doc)


def test_the_manifests_agree_on_image_and_ray_version() -> None:
    kinds = {doc["kind"]: doc for _, doc in DOCS}
    assert set(kinds) == {"RayCluster", "Job"}
    cluster, job = kinds["RayCluster"], kinds["Job"]
    images = {
        c["image"]
        for _, doc in DOCS
        for c in _containers(doc)  # every pod runs the same image: same evopipe, same Ray
    }
    assert images == {"evopipe:latest"}
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^FROM rayproject/ray:([0-9.]+)-py311$", dockerfile, re.M)
    assert match
    assert match.group(1) == cluster["spec"]["rayVersion"]
    head_service = f"{cluster['metadata']['name']}-head-svc:6379"  # KubeRay's service name
    driver = _containers(job)[0]
    assert {"name": "RAY_ADDRESS", "value": head_service} in driver["env"]
    assert driver["command"][:2] == ["evopipe", "run"]
    assert "--executor" in driver["command"]
    assert all(
        e.get("valueFrom") for e in driver["env"] if e["name"] == "EVOPIPE_DB"
    )  # the database URL comes from a Secret, never from the manifest


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]
    if doc["kind"] == "Job":
        return list(spec["template"]["spec"]["containers"])
    groups = [spec["headGroupSpec"], *spec.get("workerGroupSpecs", [])]
    return [c for g in groups for c in g["template"]["spec"]["containers"]]


def test_the_schema_rejects_a_misplaced_key() -> None:
    cluster = next(doc for _, doc in DOCS if doc["kind"] == "RayCluster")
    bad = {**cluster, "spec": {**cluster["spec"], "workerGroups": []}}  # not a CRD field
    with pytest.raises(jsonschema.ValidationError, match="workerGroups"):
        jsonschema.Draft202012Validator(RAY_CLUSTER).validate(bad)
