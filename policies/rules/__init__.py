"""The pack's rules, one module per category: encryption, access, cost, reliability.

Each module exposes `POLICIES`, the list `policies/pack.py` assembles. Rules read properties the way the engine
hands them over (camelCase; resource rules see a resource's checked inputs, stack rules every resource's outputs),
so they apply to any Pulumi AWS program, whether or not it uses this repository's components.
"""
