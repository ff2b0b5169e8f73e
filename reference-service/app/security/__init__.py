"""Who may call the API and how often, and the headers every response carries.

install.install_security wires it into an app: API key authentication (auth.py, keys kept
as digests by api_keys.py; the job routes depend on it), rate limits (ratelimit.py) and
security headers (headers.py).
"""
