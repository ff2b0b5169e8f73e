"""conformance-gate: a separate program that pushes an image only on a green verdict.

It shares nothing with the suite but the report format and the green rule
(conformance/schema.py): cli parses the command line, decision judges the
report, registry knows where to push and how to log in, push moves the image.
"""
