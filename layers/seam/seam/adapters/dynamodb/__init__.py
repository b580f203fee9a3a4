"""DynamoDB stores: model configs, runs, versions + champion, task tokens and per-model locks.

One module per table (`models`, `runs`, `versions`, `tokens`, `locks`), over the attribute-value
`codec` and the `table` base; `batch` reads configs, runs and locks of many requests at once.

Every write that guards an invariant is conditional, so the invariant holds under retries, duplicate
events and concurrent Lambdas: one holder per model lock, one settlement per task token, a terminal
run status never overwritten, the champion moved only from the version a challenger beat.
"""
