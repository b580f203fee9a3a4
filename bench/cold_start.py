"""Cold start: a fresh interpreter importing each handler (min of N), divided by a fresh `import boto3`;
and Seam's share of it: the handler minus its own floor (the third-party packages it loads, imported
alone), divided by the same `import boto3`."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").exists())
# The environment Lambda gives a python3.13 function with active tracing (the reserved variables that
# change what libraries do at import: the X-Ray SDK picks its Lambda sampler when LAMBDA_TASK_ROOT is
# set, instead of creating a centralized-sampling client), plus the template's Powertools and pydantic
# settings (tests/local/test_cold_start_bench.py checks they are the template's).
LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "_HANDLER": "app.lambda_handler",
    "POWERTOOLS_SERVICE_NAME": "seam",
    "POWERTOOLS_METRICS_NAMESPACE": "Seam",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}


def lambda_environment(cwd: Path) -> dict[str, str]:
    """The environment a handler in `cwd` is imported in: Lambda's, the layer first on the path."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        # The layer's code comes first on sys.path, as /opt/python does in Lambda.
        "PYTHONPATH": str(ROOT / "layers" / "seam"),
        "LAMBDA_TASK_ROOT": str(cwd),
        **LAMBDA_ENV,
    }


def _phase_seconds(phases: list[str], cwd: Path) -> list[tuple[float, float]]:
    """(wall clock, CPU time) of each statement, run one after the other in one fresh interpreter.

    Wall clock is a cold start as it is felt; on this shared VM a figure moves by about ±0.3 between
    runs of `make bench` even as a min of 10, so compare within one run. CPU time (the importing
    process's, `time.process_time`) is the work itself: an import reads its files from the page cache
    and waits for nothing else, and CPU time does not count the time other processes hold the cores.
    Measured under load (a test suite beside it) it stayed within ±8 % where wall clock doubled."""
    code = "import time\n_seconds = []\n"
    for statement in phases:
        code += (
            "_w, _c = time.perf_counter(), time.process_time()\n"
            f"{statement}\n"
            "_seconds.append((time.perf_counter() - _w, time.process_time() - _c))\n"
        )
    code += "print(_seconds)\n"
    return _probe(code, cwd)


def _probe(code: str, cwd: Path) -> list:
    """Run `code` in a fresh interpreter in the Lambda environment of `cwd`; its last printed line, a
    Python literal list."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=lambda_environment(cwd),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(ast.literal_eval(out.stdout.strip().splitlines()[-1]))


def _import_seconds(statement: str, cwd: Path) -> tuple[float, float]:
    [seconds] = _phase_seconds([statement], cwd)
    return seconds


# What every handler needs before any Seam code, step by step: botocore (Seam's clients are made
# without boto3), then pydantic with its first model built, then Powertools' Logger, Metrics and
# Tracer (the X-Ray SDK patching botocore). The last step is the floor: reported next to the handlers
# so the table shows how much of each figure is Seam's own, and what the floor itself is made of.
FLOOR_STEPS = {
    "botocore": "import botocore.session",
    "+ pydantic": "from pydantic import BaseModel; type('M', (BaseModel,), {'__annotations__': {'x': int}})",
    "+ Powertools": "from aws_lambda_powertools import Logger, Metrics, Tracer; "
    "Logger(); Metrics(); Tracer(patch_modules=('botocore',))",
}


def _floor_statements() -> dict[str, str]:
    steps, statement = {}, ""
    for name, code in FLOOR_STEPS.items():
        statement = f"{statement}; {code}" if statement else code
        steps[name] = statement
    return steps


# A handler's own floor: the third-party modules it loads (those whose file is in site-packages), in
# the order they were first imported, by `import app` and its first invocation's model builds (below).
# Importing exactly those, alone, in a fresh interpreter is what the handler pays before Seam's code:
# its libraries' imports and whatever they build at import time (Powertools' parser models, the X-Ray
# SDK's patch modules). The rest is Seam's: its modules, the standard library only it needs, its
# pydantic model builds, Logger/Metrics/Tracer set-up.
_MODULES_PROBE = """
import sys, sysconfig
before = set(sys.modules)
{statement}
roots = tuple({{sysconfig.get_paths()[k] for k in ("purelib", "platlib")}})
print([(n, (getattr(m, "__file__", None) or "").startswith(roots))
       for n, m in list(sys.modules.items()) if n not in before])
"""


# Seam's records are built at first use (pydantic's defer_build), so a handler's first invocation
# builds the ones it uses: they are charged to its cold start here, imported (the model config's
# classes load at the first config read) and built right after `import app`.
# tests/workflow/test_first_invocation_models.py runs the handlers and checks this table against what
# they use (the trigger on a data drop; the other event kinds build their own model, and a schedule
# tick or an alarm loads and builds the model config, instead; so does a drop for a config stored
# without `seam models put`'s check marker, which the trigger parses to check it).
_RUN, _CONFIG, _VERSION, _SERVING = (
    "seam.models.run",
    "seam.models.model_config",
    "seam.models.version",
    "seam.models.serving",
)
_CHAMPION, _TARGET = "seam.models.champion.Champion", "seam.models.serving_target.ServingTarget"
_RUN_RECORD = "seam.models.run_record.Run"
FIRST_INVOCATION_MODELS: dict[str, tuple[str, ...]] = {
    # The trigger writes runs as they are opened (seam.models.run_opening), not the whole run record, and
    # starts their execution with a document written from the request (seam.domain.starting), not
    # through the whole WorkflowState.
    "trigger": (
        "seam.models.run_request.RunRequest",
        f"{_RUN}.DatasetRef",
        "seam.models.run_opening.RunOpening",
    ),
    # Validate reads the config's data rules, gate and training spec (ModelStore.validation).
    "validate": (
        "seam.models.validation_config.ValidationConfig",
        f"{_RUN}.DatasetRef",
        "seam.models.snapshot.Snapshot",
        "seam.models.training_result.TrainingLimits",
        _CHAMPION,
    ),
    # LaunchTraining and ScoreChampion read the config's identity, training and budget (ModelStore.training).
    "launch_training": ("seam.models.training_config.TrainingConfig",),
    "score_champion": ("seam.models.training_config.TrainingConfig",),  # a champion of another image: its job
    # A training state change, and the reconciler's check of a quiet training (built at first use: the
    # reconciler only writes checks).
    "training_callback": (
        "seam.models.training_check.TrainingCheck",
        "seam.models.training_events.TrainingStateChangeEvent",
        "seam.models.training_result.TrainingResult",
    ),
    # Evaluate reads only the config's gate (ModelStore.evaluation).
    "evaluate": (
        "seam.models.evaluation_spec.EvaluationSpec",
        _CHAMPION,
        "seam.models.evaluation.Evaluation",
    ),
    # Register reads only the config's identity (ModelStore.identity).
    "register": (
        "seam.models.model_identity.ModelIdentity",
        "seam.models.release.Registration",
        f"{_VERSION}.ModelVersion",
    ),
    # The serving functions read only the config's serving target (ServingTargetStore) and of the run only
    # the snapshot Deploy recorded (RunStore.previous_serving).
    "deploy": (
        _TARGET,
        f"{_SERVING}.DeploymentSnapshot",
        f"{_SERVING}.Release",
        "seam.models.release.DeploymentInfo",
    ),
    "check_rollout": (_TARGET, f"{_SERVING}.RolloutStatus"),
    "rollback": (_TARGET, f"{_SERVING}.DeploymentSnapshot"),
    # Finalize prices the run (seam.models.cost); it reads a projection of the run (RunStore.progress) and
    # of the evaluation (EvaluationOutcome), not the whole records, and releases the lock without parsing
    # a request unless one waits for it (LockStore.release: a hand-over parses and starts it).
    "finalize": (
        "seam.models.cost.CostPart",
        "seam.models.cost.RunCost",
        f"{_RUN}.DatasetRef",
        "seam.models.decision.Decision",  # a failed rollout's version is marked Rejected with Seam's decision
        "seam.models.run_progress.RunProgress",
        "seam.models.views.finalize.EvaluationOutcome",
        _CHAMPION,
    ),
    # Nothing: the reconciler reads only what it checks of a quiet run (RunStore.list_by_status) and who
    # holds each lock (LockStore.list), and writes its checks as JSON (TrainingCheck.body); the callback
    # settles what it has checked. A lock it repairs is read whole (its requests), seldom.
    "reconciler": (),
}


def handler_statement(function: str) -> str:
    """`import app`, then the builds its first invocation does."""
    models = [name.rsplit(".", 1) for name in FIRST_INVOCATION_MODELS[function]]
    return (
        "import app, importlib; "
        f"[getattr(importlib.import_module(m), c).model_rebuild() for m, c in {models!r}]"
    )


def loaded_modules(function: str) -> list[tuple[str, bool]]:
    """The modules the handler loads (import and first-invocation builds), in import order, each with
    whether it is third-party (its file is in site-packages)."""
    return _probe(_MODULES_PROBE.format(statement=handler_statement(function)), ROOT / "functions" / function)


def third_party_modules(function: str) -> list[str]:
    """The third-party modules the handler loads (import and first-invocation builds), in import order."""
    return [name for name, third_party in loaded_modules(function) if third_party]


def floor_statement(modules: list[str]) -> str:
    return f"import importlib; [importlib.import_module(m) for m in {modules!r}]"


def measure(
    statements: dict[str, tuple[list[str], Path]], repeats: int = 10
) -> dict[str, list[tuple[float, float]]]:
    """Interleaved runs of every entry (name -> (its statements, run in turn in one interpreter;
    folder)), so machine noise hits every figure alike; the min of each statement's wall clock and CPU
    time."""
    samples: dict[str, list[list[tuple[float, float]]]] = {name: [] for name in statements}
    for _ in range(repeats):
        for name, (phases, cwd) in statements.items():
            samples[name].append(_phase_seconds(phases, cwd))
    return {
        name: [(min(run[i][0] for run in runs), min(run[i][1] for run in runs)) for i in range(len(runs[0]))]
        for name, runs in samples.items()
    }


def run(repeats: int = 10) -> dict[str, object]:
    _import_seconds("import app", ROOT / "functions" / FUNCTIONS[0])  # warm the .pyc cache first
    started = time.perf_counter()
    floors = {function: third_party_modules(function) for function in FUNCTIONS}
    statements = {"boto3": (["import boto3"], ROOT)}
    statements |= {step: ([statement], ROOT) for step, statement in _floor_statements().items()}
    for function in FUNCTIONS:
        folder = ROOT / "functions" / function
        statements[function] = ([handler_statement(function)], folder)
        # Its own floor, then the handler in the same interpreter: the second figure is what Seam adds.
        # (Two separate interpreters' minima would leave Seam's 20-odd ms as the difference of two
        # 200 ms figures, each a few ms noisy; in one interpreter it comes out within a few tenths.)
        # Between the two, a full collection, not counted: the floor's objects are the floor's to
        # scan, not the first collections Seam's allocations happen to trigger (3-4 ms of the
        # handlers that load lightkube).
        statements[f"{function} split"] = (
            [floor_statement(floors[function]), "import gc; gc.collect()", handler_statement(function)],
            folder,
        )
    measured = measure(statements, repeats)
    (baseline, baseline_cpu), *_ = measured.pop("boto3")
    steps = {step: round(measured.pop(step)[0][0] / baseline, 3) for step in FLOOR_STEPS}
    split = {function: measured.pop(f"{function} split") for function in FUNCTIONS}
    ratios = {function: round(measured[function][0][0] / baseline, 3) for function in FUNCTIONS}
    seam_cpu = {function: split[function][2][1] for function in FUNCTIONS}
    shares = {function: round(seconds / baseline_cpu, 3) for function, seconds in seam_cpu.items()}
    return {
        "boto3_import_s": round(baseline, 4),
        "boto3_import_cpu_s": round(baseline_cpu, 4),
        "import_s": {function: round(measured[function][0][0], 4) for function in FUNCTIONS},
        "cold_start_ratio": ratios,
        "cold_start_ratio_max": max(ratios.values()),
        "cold_start_floor_ratio": steps[list(FLOOR_STEPS)[-1]],
        "cold_start_floor_steps": steps,
        "cold_start_own_floor_s": {function: round(split[function][0][0], 4) for function in FUNCTIONS},
        "cold_start_own_floor_packages": {
            function: sorted({m.split(".")[0] for m in modules}) for function, modules in floors.items()
        },
        "cold_start_seam_cpu_s": {function: round(seconds, 4) for function, seconds in seam_cpu.items()},
        "cold_start_seam_share": shares,
        "cold_start_seam_share_max": max(shares.values()),
        "cold_start_measured_in_s": round(time.perf_counter() - started, 1),
    }
