"""Seam's shared library (the Lambda layer): domain, models and adapters."""


def reset() -> None:
    """Forget every process-wide cache: AWS clients and the hooks added to them, settings, adapters,
    EKS cluster endpoints and tokens; and read the metrics namespace again. For tests and the local
    runtime, which change the environment between uses; a handler never calls it. It imports what it
    clears, so `import seam` stays free."""
    import sys

    from seam.adapters import aws
    from seam.adapters.serving import eks
    from seam.dependencies import reset_dependencies

    aws.reset_clients()
    reset_dependencies()
    eks.reset_caches()
    # Not imported here when it was not yet: its Logger keeps the stream it sees when it is first imported.
    observability = sys.modules.get("seam.observability")
    if observability is not None:
        observability.reread_environment()
