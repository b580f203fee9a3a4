"""AWS error translation (`aws_call`, `cause_code`) and the client factory."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from seam.adapters import aws
from seam.adapters.aws import THROTTLING_CODES, aws_call, cause_code, client, is_transient
from seam.errors import (
    RegistryError,
    SeamError,
    StaleUpdateError,
    TrainingError,
    TransientError,
)

ENDPOINT = "https://dynamodb.us-east-1.amazonaws.com"


def client_error(
    code: str, status: int = 400, message: str = "boom", operation: str = "PutItem"
) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


def translate(
    exc: BaseException, error: type[SeamError] = SeamError, what: str = "PutItem runs/r1"
) -> SeamError:
    with pytest.raises(SeamError) as caught, aws_call(what, error):
        raise exc
    assert caught.value.__cause__ is exc  # the AWS error stays attached for cause_code and tracebacks
    return caught.value


def test_a_failed_condition_is_a_stale_update_naming_the_call() -> None:
    error = translate(client_error("ConditionalCheckFailedException"), RegistryError)

    assert type(error) is StaleUpdateError
    assert str(error) == "PutItem runs/r1: condition not met"
    assert cause_code(error) == "ConditionalCheckFailedException"


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_and_service_side_codes_are_transient(code: str) -> None:
    error = translate(client_error(code), TrainingError)

    assert type(error) is TransientError
    assert str(error).startswith("PutItem runs/r1 failed: An error occurred (" + code)
    assert cause_code(error) == code


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_any_5xx_is_transient_whatever_its_code(status: int) -> None:
    assert type(translate(client_error("SomethingNew", status), TrainingError)) is TransientError


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url=ENDPOINT),
        ConnectTimeoutError(endpoint_url=ENDPOINT),
        ReadTimeoutError(endpoint_url=ENDPOINT),
        ConnectionClosedError(endpoint_url=ENDPOINT),
    ],
    ids=["endpoint", "connect-timeout", "read-timeout", "closed"],
)
def test_connection_failures_are_transient_and_name_the_call(exc: Exception) -> None:
    error = translate(exc, RegistryError, what="CreateModelPackage seam-churn")

    assert type(error) is TransientError
    assert str(error).startswith("CreateModelPackage seam-churn failed: ")
    assert ENDPOINT in str(error)
    assert cause_code(error) == ""


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("AccessDeniedException", SeamError),
        ("ValidationException", TrainingError),
        ("ResourceNotFoundException", RegistryError),
        ("ExecutionAlreadyExists", SeamError),
    ],
)
def test_other_client_errors_become_the_given_error_class(code: str, error_class: type[SeamError]) -> None:
    error = translate(
        client_error(code, message="details from AWS"), error_class, what="DescribeTrainingJob j"
    )

    assert type(error) is error_class
    assert (
        str(error)
        == f"DescribeTrainingJob j failed: An error occurred ({code}) when calling the PutItem operation: "
        "details from AWS"
    )
    assert cause_code(error) == code


def test_errors_that_are_not_from_aws_pass_through_untouched() -> None:
    with pytest.raises(KeyError), aws_call("GetItem"):
        raise KeyError("x")
    with pytest.raises(NoCredentialsError), aws_call("GetItem"):  # not a ClientError: a setup problem
        raise NoCredentialsError()


def test_a_successful_call_is_not_changed() -> None:
    with aws_call("GetItem"):
        value = 42
    assert value == 42


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (client_error("ThrottlingException"), True),
        (client_error("Whatever", 503), True),
        (client_error("ValidationException"), False),
        (client_error("ConditionalCheckFailedException"), False),
        (ReadTimeoutError(endpoint_url=ENDPOINT), True),
        (ValueError("x"), False),
    ],
)
def test_is_transient(exc: Exception, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_cause_code_is_empty_for_errors_without_an_aws_cause() -> None:
    assert cause_code(TrainingError("x")) == ""
    try:
        raise TrainingError("wrapped") from ValueError("not aws")
    except TrainingError as exc:
        assert cause_code(exc) == ""


# -- the client factory --------------------------------------------------------------------------------------


def test_clients_are_created_once_per_service_with_bounded_retries_and_timeouts(aws_env: None) -> None:
    dynamodb = client("dynamodb")

    assert client("dynamodb") is dynamodb
    assert client("s3") is not dynamodb
    config = dynamodb.meta.config
    assert (config.connect_timeout, config.read_timeout) == (5, 20)
    assert config.retries == {"total_max_attempts": 5, "mode": "standard"}  # 4 retries after the first call


def test_a_client_hook_sees_every_client_created_after_it(aws_env: None) -> None:
    before = client("sqs")
    seen: list[Any] = []

    aws.add_client_hook(seen.append)
    after = client("sqs")
    aws.reset_clients()
    unhooked = client("sqs")

    assert after is not before and seen == [after]
    assert unhooked is not after and seen == [after]
