"""bench/cold_start.py: every handler imports in Lambda's environment, with no boto3 and no asyncio
unless it needs them; each handler's floor is the third-party packages it really loads; the bench's
environment is the template's; and a one-round bench run has the figures `make bench` prints (no
timed assertions)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from bench import cold_start

# The handlers whose dependencies need asyncio: Powertools' batch utility (SQS consumers) and
# lightkube (the three that talk to Kubernetes).
NEEDS_ASYNCIO = {"trigger", "training_callback", "deploy", "check_rollout", "rollback"}


@pytest.mark.parametrize("function", cold_start.FUNCTIONS)
def test_each_handler_imports_in_lambdas_environment_without_boto3(function: str) -> None:
    probe = "import app, sys; print(sorted({'boto3', 's3transfer', 'asyncio'} & set(sys.modules)))"
    directory = cold_start.ROOT / "functions" / function
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=directory,
        env=cold_start.lambda_environment(directory),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    expected = ["asyncio"] if function in NEEDS_ASYNCIO else []
    assert out.stdout.strip().splitlines()[-1] == str(expected)


class _TemplateLoader(yaml.SafeLoader):
    """template.yaml with its CloudFormation tags (!Ref, !Sub, ...) read as None."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_the_bench_imports_handlers_with_the_templates_library_settings() -> None:
    template = yaml.load((cold_start.ROOT / "template.yaml").read_text(), Loader=_TemplateLoader)
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    settings = {k: str(v) for k, v in variables.items() if k.startswith(("POWERTOOLS_", "PYDANTIC_"))}
    assert settings and settings.items() <= cold_start.LAMBDA_ENV.items()


@pytest.mark.parametrize("function", ["validate", "trigger", "deploy"])
def test_a_handlers_floor_is_the_third_party_packages_it_loads_and_no_seam_code(function: str) -> None:
    modules = cold_start.third_party_modules(function)
    packages = {name.split(".")[0] for name in modules}

    assert not {"seam", "app"} & packages
    assert {"botocore", "pydantic", "pydantic_core", "aws_lambda_powertools", "aws_xray_sdk"} <= packages
    assert ("lightkube" in packages) is (function == "deploy")  # only the serving handlers load it
    # Powertools' batch utility only where the handler uses it (the SQS consumers).
    assert ("aws_lambda_powertools.utilities.batch" in modules) is (function == "trigger")
    assert "boto3" not in packages


def test_every_model_charged_to_a_first_invocation_is_a_deferred_seam_model() -> None:
    assert set(cold_start.FIRST_INVOCATION_MODELS) == set(cold_start.FUNCTIONS)
    for function, names in cold_start.FIRST_INVOCATION_MODELS.items():
        for name in names:
            module, _, attribute = name.rpartition(".")
            model: Any = getattr(importlib.import_module(module), attribute)
            assert issubclass(model, BaseModel) and module.startswith("seam."), (function, name)
            assert model.model_config.get("defer_build"), f"{name} is built at import: charging it twice"


def test_a_one_round_bench_reports_every_handler_and_the_floors_steps() -> None:
    result = cold_start.run(repeats=1)

    assert set(result["cold_start_ratio"]) == set(cold_start.FUNCTIONS)
    assert result["cold_start_ratio_max"] == max(result["cold_start_ratio"].values())
    assert list(result["cold_start_floor_steps"]) == ["botocore", "+ pydantic", "+ Powertools"]
    assert result["cold_start_floor_ratio"] == result["cold_start_floor_steps"]["+ Powertools"]
    assert all(ratio > 0 for ratio in result["cold_start_ratio"].values())
    # Seam's share beside them: each handler's own part, over the same import boto3 (CPU time).
    assert set(result["cold_start_seam_share"]) == set(cold_start.FUNCTIONS)
    assert result["cold_start_seam_share_max"] == max(result["cold_start_seam_share"].values())
    assert all(seconds > 0 for seconds in result["cold_start_seam_cpu_s"].values())
    assert "lightkube" in result["cold_start_own_floor_packages"]["check_rollout"]
