"""Offline preflight for Pulumi Python programs: run the program under the SDK's mock runtime with emulated
providers, record the whole resource graph, and check it with the policy pack and independent scanners."""
