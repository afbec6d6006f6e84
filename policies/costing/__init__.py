"""A stack's monthly cost, from its resources alone: the estimator the `monthly-cost-budget` rule runs and
`preflight` reports (see docs/cost.md).

It lives inside the pack because the Pulumi CLI runs the pack in a virtualenv of its own, with only
`pulumi-policy` installed: standard library only, relative imports only. `prices.json` is the price snapshot,
`prices.py` reads it, `rules.py` prices each resource type, `estimate.py` adds a stack up.
"""
