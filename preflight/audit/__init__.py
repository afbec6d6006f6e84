"""`python -m preflight audit`: the same checks as preflight, on what is deployed.

A `pulumi stack export` says what the stack declared; boto3 (read-only, standard credential chain) says what is
running. The audit reports drift of security-relevant properties, resources deleted out of band, the policy pack
run on live properties, silent SageMaker rollbacks, tag compliance and GPU capacity running.
"""
