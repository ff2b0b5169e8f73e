"""API fuzzing of the reference image with Schemathesis (`tox -e fuzz`).

Not under tests/: the unit and image envs collect tests/ and tests/integration; this
package runs only in its own env, against one container of the built image.
"""
