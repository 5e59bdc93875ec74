"""LTI 1.3 Advantage: the service as a tool that LMSs launch and keep in step.

`keys` (the tool's signing keys and JWKS), `platforms` (the LMSs an instance trusts, and their
keys), `launch` (the OIDC login and the checked launch), `admit` (what a launch makes: the
module, the user, the console session); `router` is the edge (the browser's login and launch).
The JOSE work is joserfc's; nothing here signs or checks a token by hand.
"""
