"""conformance-gate and conformance-verify: separate programs that release (and, at
deploy time, accept) an image only on a signed, green attestation of exactly it.

They share with the suite only the report format and the green rule
(conformance/schema.py) and the attestation format (conformance/attestation.py).
cli parses the gate's command line, policy its allowances, decision judges the
attestation, registry/ecr/oci talk to registries, push moves the image, verify is
the deploy-time check.
"""
