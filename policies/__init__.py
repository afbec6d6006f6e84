"""The guardrail policy pack: CrossGuard rules for any Pulumi AWS program (see docs/policies.md).

`pack.py` builds the policies; `__main__.py` serves them to the Pulumi CLI; `preflight.policy` evaluates the same
objects offline. Only `pulumi-policy` is needed at run time, so the pack also runs from a virtualenv of its own.
"""
