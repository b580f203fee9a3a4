"""Each state parses the workflow document with its view (seam.models.views): the sections it uses typed,
the rest passed through as they came. These pin the views to WorkflowState, the document's definition."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from seam.models.evaluation import Evaluation
from seam.models.views import DOCUMENT_FIELDS, StateView
from seam.models.views.evaluate import EvaluateState
from seam.models.views.finalize import EvaluationOutcome, FinalizeState
from seam.models.views.register import RegisterState
from seam.models.views.serving import ServingState
from seam.models.views.training import TrainingState
from seam.models.views.validate import ValidateState
from seam.models.workflow_state import WorkflowState

VIEWS = (ValidateState, TrainingState, EvaluateState, RegisterState, ServingState, FinalizeState)

# A document after Deploy, every section filled in, as a state returns it (WorkflowState's dump).
_WRITTEN = {
    "run_id": "seam-test-churn-0123456789ab",
    "model": "churn",
    "trigger": "data",
    "dataset": {"bucket": "b", "key": "datasets/churn/a.csv", "etag": "e1"},
    "snapshot": {
        "source": {"bucket": "b", "key": "datasets/churn/a.csv", "etag": "e1"},
        "train_uri": "s3://b/runs/r/train/a.csv",
        "holdout": {
            "uri": "s3://b/runs/r/holdout/a.csv",
            "rows": 10,
            "dataset_rows": 10,
            "fraction": 0.2,
            "max_rows": 1000,
            "rule": "every fifth row",
            "champion": {
                "version": "000001",
                "image": "i@sha256:1",
                "model_artifact_uri": "s3://b/m",
                "scored_in_training": False,
            },
            "label_column": "churned",
        },
    },
    "score_champion": True,
    "limits": {"timeout_seconds": 3600, "heartbeat_seconds": 600},
    "champion_scoring": {"job_name": "j-champion", "image": "i@sha256:1", "predictions_uri": "s3://b/p.csv"},
    "training": {
        "job_name": "j",
        "status": "Completed",
        "model_artifact_uri": "s3://b/m2",
        "image": "i@sha256:2",
    },
    "evaluation": {
        "decision": "promote",
        "metric": "auc",
        "direction": "maximize",
        "challenger": 0.9,
        "champion": 0.8,
        "reason": "better",
    },
    "registration": {
        "version": "000002",
        "model_package_arn": "arn:p/2",
        "approval": "Approved",
        "deployable": True,
    },
    "deployment": {"generation": 3, "rollout": {"state": "progressing"}},
    "error": {"Error": "States.Timeout"},
}
DOCUMENT = WorkflowState.model_validate(_WRITTEN).dump()


def test_the_views_know_exactly_the_documents_fields() -> None:
    assert set(WorkflowState.model_fields) == DOCUMENT_FIELDS


# Sections a view reads only part of: the narrower record, and the section's own.
NARROWED = {(FinalizeState, "evaluation"): (EvaluationOutcome, Evaluation)}


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_a_view_types_each_field_as_the_document_does(view: type[StateView]) -> None:
    for name, field in view.model_fields.items():
        expected = WorkflowState.model_fields[name].annotation
        if (view, name) in NARROWED:
            narrow, section = NARROWED[view, name]
            assert (field.annotation, expected) == (narrow | None, section | None), name
        else:
            assert field.annotation == expected, name
        assert field.default == WorkflowState.model_fields[name].default, name


@pytest.mark.parametrize(("narrow", "section"), NARROWED.values(), ids=lambda r: r.__name__)
def test_a_narrowed_section_reads_its_fields_as_the_section_does(narrow: type, section: type) -> None:
    for name, field in narrow.model_fields.items():
        assert (field.annotation, field.default) == (
            section.model_fields[name].annotation,
            section.model_fields[name].default,
        ), name
    assert narrow.model_config.get("extra") == "allow"  # the rest passes through as it was written


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_a_view_returns_the_document_it_was_given(view: type[StateView]) -> None:
    # What the state did not touch leaves it exactly as it came, so the next state (and Finalize, which
    # checks the whole document) sees what the writer wrote.
    assert view.model_validate(DOCUMENT).dump() == DOCUMENT


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_a_view_refuses_a_key_the_document_does_not_have(view: type[StateView]) -> None:
    with pytest.raises(ValidationError, match="not a field of the workflow document: evalution"):
        view.model_validate({**DOCUMENT, "evalution": {}})


def test_a_view_checks_the_sections_it_reads() -> None:
    broken = {**DOCUMENT, "evaluation": {**DOCUMENT["evaluation"], "decision": "maybe"}}
    with pytest.raises(ValidationError, match=r"evaluation\.decision"):
        EvaluateState.model_validate(broken)
    # Deploy passes the evaluation through: it was checked by Evaluate, which wrote it.
    assert ServingState.model_validate(broken).dump()["evaluation"]["decision"] == "maybe"


def test_a_state_writes_its_section_into_the_whole_document() -> None:
    state = ServingState.model_validate(DOCUMENT)
    assert state.deployment is not None
    done = state.model_copy(update={"deployment": state.deployment.model_copy(update={"state": "done"})})
    assert done.dump() == {**DOCUMENT, "deployment": {**DOCUMENT["deployment"], "state": "done"}}
