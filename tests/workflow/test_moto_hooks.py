"""Seam's hooks into moto internals must fail loudly, not silently, when moto changes underneath."""

import time

import moto
import pytest
from seam_local import moto_hooks


def test_moto_is_the_version_the_hooks_were_written_against() -> None:
    assert moto.__version__ == moto_hooks.PINNED_MOTO_VERSION
    moto_hooks.check_moto_compatibility()  # signatures and attributes the hooks patch or set


def test_a_different_moto_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=r"targets moto 5\.2\.5, found 9\.9\.9"):
        moto_hooks.check_moto_compatibility()


def test_lambda_tasks_run_in_process_through_the_hook(harness) -> None:
    """The interpreter really calls our handlers (not moto's canned Lambda response)."""
    from tests.workflow.harness import model_config

    harness.onboard(model_config())
    harness.drop("churn")
    run_id = harness.only_run_id()
    harness.wait_for_training(run_id)
    # An invocation is recorded when its handler returns, just after LaunchTraining created the job.
    deadline = time.monotonic() + 10
    while len(harness.stack.runtime.invocations) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    invoked = [i.function_name for i in harness.stack.runtime.invocations]
    assert invoked[:3] == ["seam-test-trigger", "seam-test-validate", "seam-test-launch-training"]
