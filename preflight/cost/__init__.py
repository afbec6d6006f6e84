"""Monthly cost of a stack before it is deployed (see docs/cost.md).

The estimator itself (price snapshot, pricing rules per resource type, the stack's idle/expected/max) ships inside
the policy pack, `policies/costing/`, because the `monthly-cost-budget` rule runs it under the Pulumi CLI where
only the pack is importable. This package adds what only preflight does: usage files (`usage.py`), the estimate of
a recorded stack with its per-component breakdown (`estimate.py`), the comparison with a previous JSON document
(`compare.py`), the reports (`report.py`) and `refresh-prices` (`refresh.py`).
"""
