"""`python -m churn_model train|serve|evaluate`: the image's ENTRYPOINT.

SageMaker starts a training container as `docker run IMAGE train`; the EKS Deployment runs the same image
with the argument `serve`; Seam's paired evaluation runs it as `evaluate [--model PATH] [--data DIR]
[--output FILE]` (evaluate.py) to score a model on the holdout.
"""

from __future__ import annotations

import sys

USAGE = "usage: python -m churn_model {train|serve|evaluate}"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else ""
    if command == "train":
        from churn_model import train

        train.main()
    elif command == "serve":
        from churn_model import serve

        serve.main()
    elif command == "evaluate":
        from churn_model import evaluate

        evaluate.main(args[1:])
    else:
        print(USAGE, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
